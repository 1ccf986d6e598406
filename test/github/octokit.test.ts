// The Octokit factory against the fake: a short rate limit is retried once in place, a long
// one surfaces (with its wait, for jobs to reschedule), 5xx answers are retried.
import t from 'tap';
import { createOctokit, rateLimitRetryAfterMs } from '../../src/github/octokit.ts';
import { knownSecrets } from '../helper.ts';
import { startFakeGitHub } from '../support/fake-github.ts';

const fake = await startFakeGitHub();
t.teardown(() => fake.close());
fake.addUser({ login: 'limited' });
const { accessToken } = fake.issueToken('limited');
knownSecrets.add(accessToken);
const warnings: object[] = [];
const log = {
  debug: () => {},
  info: () => {},
  warn: (obj: object) => void warnings.push(obj),
  error: () => {},
};
const octokit = createOctokit({
  baseUrl: fake.apiUrl,
  auth: accessToken,
  log,
  retryAfterBaseMs: 10,
});

t.test('a short secondary rate limit is retried once, then succeeds', async (t) => {
  fake.rateLimitNext('GET', '/user', { kind: 'secondary', retryAfterSeconds: 1 });
  const started = Date.now();
  const { data } = await octokit.rest.users.getAuthenticated();
  t.equal(data.login, 'limited');
  t.ok(Date.now() - started >= 900, 'waited for retry-after');
  t.match(warnings.at(-1), { kind: 'secondary', retrying: true });
});

t.test('a rate limit that persists surfaces after one retry', async (t) => {
  fake.rateLimitNext('GET', '/user', { kind: 'secondary', retryAfterSeconds: 1, times: 2 });
  const err = await octokit.rest.users.getAuthenticated().catch((e: unknown) => e);
  t.match(err, { status: 403 });
  t.equal(rateLimitRetryAfterMs(err), 1000);
});

t.test('a long rate limit surfaces at once with its wait', async (t) => {
  fake.rateLimitNext('GET', '/user', { kind: 'primary', retryAfterSeconds: 600 });
  const started = Date.now();
  const err = await octokit.rest.users.getAuthenticated().catch((e: unknown) => e);
  t.ok(Date.now() - started < 2000, 'did not wait');
  t.match(err, { status: 403 });
  t.equal(rateLimitRetryAfterMs(err), 600_000);
  t.match(warnings.at(-1), { kind: 'primary', retrying: false });
  t.equal(rateLimitRetryAfterMs(new Error('other')), undefined);
  t.equal(rateLimitRetryAfterMs({ status: 404 }), undefined);
  t.equal(
    rateLimitRetryAfterMs(
      {
        status: 429,
        response: { headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '100' } },
      },
      90_000,
    ),
    11_000,
  );
});

t.test('5xx answers are retried', async (t) => {
  fake.failNext('GET', '/user', 502, undefined, { times: 2 });
  const { data } = await octokit.rest.users.getAuthenticated();
  t.equal(data.login, 'limited');
});

t.test(
  'requests carry a User-Agent and go to the configured base URL (GHES prefix too)',
  async (t) => {
    const ghe = createOctokit({ baseUrl: fake.gheApiUrl, auth: accessToken, log });
    const { data } = await ghe.rest.users.getAuthenticated();
    t.equal(data.login, 'limited');
    const last = fake.requests.at(-1)!;
    t.equal(last.pathname, '/api/v3/user');
    t.match(last.headers['user-agent'], /^flowfix/);
    t.same(fake.violations, []);
  },
);
