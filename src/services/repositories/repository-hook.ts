// The webhook Flowfix keeps on a connected repository: its URL, events and JSON content
// type, creating it (or adopting one already there with our URL: GitHub answers 422 "Hook
// already exists"), checking it still exists, and the secret each connection row holds.
import type { Config } from '../../config.ts';
import { secretContext } from '../../crypto/encrypted-columns.ts';
import type { SecretBox } from '../../crypto/secret-box.ts';
import type { RepositoryConnection } from '../../db/stores/repository-connections-store.ts';
import type { Octokit } from '../../github/octokit.ts';
import { githubMessage, githubStatus } from './github-errors.ts';

/** What Flowfix listens to: runs, jobs, and pull requests (fix tracking). */
export const HOOK_EVENTS = ['workflow_run', 'workflow_job', 'pull_request'] as const;

export function hookUrl(config: Pick<Config, 'publicUrl'>, connectionId: string): string {
  return `${config.publicUrl}/api/v1/webhook/github/${connectionId}`;
}

/** The full hook config: GitHub replaces it as a whole, so the secret must always be in it. */
export function hookConfig(url: string, secret: string) {
  return { url, content_type: 'json', secret, insecure_ssl: '0' } as const;
}

export function splitFullName(fullName: string): { owner: string; repo: string } {
  const [owner, repo, extra] = fullName.split('/');
  if (!owner || !repo || extra !== undefined) throw new TypeError(`not owner/name: ${fullName}`);
  return { owner, repo };
}

export const sealCurrent = (box: SecretBox, connectionId: string, secret: string) =>
  box.encrypt(secret, secretContext('repository_connections', 'webhook_secret_enc', connectionId));

export const sealPrevious = (box: SecretBox, connectionId: string, secret: string) =>
  box.encrypt(
    secret,
    secretContext('repository_connections', 'previous_webhook_secret_enc', connectionId),
  );

export function openCurrent(box: SecretBox, connection: RepositoryConnection): string {
  return box.decrypt(
    connection.webhookSecretEnc,
    secretContext('repository_connections', 'webhook_secret_enc', connection.id),
  );
}

const alreadyExists = (err: unknown) =>
  githubStatus(err) === 422 && /hook already exists/i.test(githubMessage(err));

/**
 * Creates the hook, or adopts the one with the same URL (a retried connect, a lost hook id)
 * by giving it our secret, events and JSON content type. Returns the hook id.
 */
export async function createOrAdoptHook(
  octokit: Octokit,
  fullName: string,
  url: string,
  secret: string,
): Promise<number> {
  const { owner, repo } = splitFullName(fullName);
  try {
    const { data } = await octokit.rest.repos.createWebhook({
      owner,
      repo,
      name: 'web',
      active: true,
      events: [...HOOK_EVENTS],
      config: hookConfig(url, secret),
    });
    return data.id;
  } catch (err) {
    if (!alreadyExists(err)) throw err;
    const hooks = await octokit.paginate(octokit.rest.repos.listWebhooks, {
      owner,
      repo,
      per_page: 100,
    });
    const existing = hooks.find((hook) => hook.config.url === url);
    if (!existing) throw err;
    await octokit.rest.repos.updateWebhook({
      owner,
      repo,
      hook_id: existing.id,
      active: true,
      events: [...HOOK_EVENTS],
      config: hookConfig(url, secret),
    });
    return existing.id;
  }
}

/** Whether the hook still exists on GitHub (false on 404). */
export async function hookExists(
  octokit: Octokit,
  fullName: string,
  hookId: number,
): Promise<boolean> {
  const { owner, repo } = splitFullName(fullName);
  try {
    await octokit.rest.repos.getWebhook({ owner, repo, hook_id: hookId });
    return true;
  } catch (err) {
    if (githubStatus(err) === 404) return false;
    throw err;
  }
}
