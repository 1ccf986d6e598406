// A test world for repository features: the fake GitHub, the real app listening on a real
// port (so the fake's ping and deliveries reach it through PUBLIC_URL), and a signed-in
// user with an API token and a GitHub connection the fake issued.
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { AppDeps } from '../../../src/app.ts';
import { buildTestApp, knownSecrets } from '../../helper.ts';
import { connectGitHub, createUserWithToken } from '../../support/auth.ts';
import { startFakeGitHub, type FakeGitHub } from '../../support/fake-github.ts';

type Tap = Parameters<typeof buildTestApp>[0];

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function githubWorld(
  t: Tap,
  opts: {
    login: string;
    env?: Record<string, string>;
    pingOnHookCreate?: boolean;
    deps?: AppDeps;
  },
) {
  const fake = await startFakeGitHub(
    opts.pingOnHookCreate === undefined ? {} : { pingOnHookCreate: opts.pingOnHookCreate },
  );
  const port = await freePort();
  const built = await buildTestApp(t, {
    env: {
      GITHUB_CLIENT_ID: fake.clientId,
      GITHUB_CLIENT_SECRET: fake.clientSecret,
      GITHUB_API_URL: fake.apiUrl,
      GITHUB_WEB_URL: fake.webUrl,
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      ...opts.env,
    },
    ...(opts.deps ? { deps: opts.deps } : {}),
  });
  // Closed after the app: deliveries the fake is still sending need the app to answer.
  t.teardown(() => fake.close());
  knownSecrets.add(fake.clientSecret);
  await built.app.listen({ port, host: '127.0.0.1' });
  const owner = await createUserWithToken(built.app, { login: opts.login });
  const tokens = await connectGitHub(built.app, fake, owner.user);
  knownSecrets.add(tokens.accessToken);
  return { ...built, fake, port, ...owner };
}

export type GitHubWorld = Awaited<ReturnType<typeof githubWorld>>;

/** The secret the fake stored for a hook (what GitHub signs deliveries with). */
export function hookSecret(fake: FakeGitHub, fullName: string): string {
  const [hook] = fake.hooksOf(fullName);
  const secret = hook?.config.secret;
  if (!secret) throw new Error(`no hook with a secret on ${fullName}`);
  knownSecrets.add(secret);
  return secret;
}

/** Polls until `check` passes (deliveries from the fake arrive asynchronously). */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, ms = 5000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
