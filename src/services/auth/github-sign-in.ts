// The end of the OAuth web flow, after the code exchange: ask GitHub who the token belongs
// to, upsert that user and store the connection (tokens sealed by the secret box) in one
// transaction, so a half-signed-in user never exists.
import type { Config } from '../../config.ts';
import type { SecretBox } from '../../crypto/secret-box.ts';
import type { Db } from '../../db/client.ts';
import { createOAuthConnectionsStore } from '../../db/stores/oauth-connections-store.ts';
import { createUsersStore, type UserRow } from '../../db/stores/users-store.ts';
import { errors } from '../../errors.ts';
import type { TokenSet } from '../../github/oauth-token.ts';
import { createOctokit, type OctokitLog } from '../../github/octokit.ts';
import { sealTokens } from '../../github/stored-tokens.ts';

export interface SignInDeps {
  db: Db;
  config: Config;
  secretBox: SecretBox;
  log: OctokitLog;
}

export async function signInWithGitHub(
  deps: SignInDeps,
  tokens: TokenSet,
  opts: { fetch?: typeof fetch } = {},
): Promise<UserRow> {
  const octokit = createOctokit({
    baseUrl: deps.config.github.apiUrl,
    auth: tokens.accessToken,
    log: deps.log,
    retries: 1,
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
  let profile;
  try {
    profile = (await octokit.rest.users.getAuthenticated()).data;
  } catch (err) {
    const status = (err as { status?: number }).status;
    throw new errors.GITHUB_UPSTREAM(`could not read the GitHub user (HTTP ${status ?? 'error'})`);
  }
  if (typeof profile.id !== 'number' || typeof profile.login !== 'string')
    throw new errors.GITHUB_UPSTREAM('GitHub answered /user without an id or login');

  return deps.db.transaction(async (tx) => {
    const user = await createUsersStore(tx).upsertFromGitHub(
      {
        githubId: profile.id,
        login: profile.login,
        name: profile.name ?? null,
        email: profile.email ?? null,
        avatarUrl: profile.avatar_url || null,
      },
      tx,
    );
    await createOAuthConnectionsStore(tx).upsert(
      {
        ...sealTokens(deps.secretBox, user.id, tokens),
        userId: user.id,
        providerUserId: profile.id,
        scopes: tokens.scopes,
      },
      tx,
    );
    return user;
  });
}
