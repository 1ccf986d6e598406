// How GitHub failures steer the analyse-incident job's retries.
import t from 'tap';
import { rateLimitWaitMs, toJobError } from '../../src/jobs/github-job-error.ts';
import { RetryLaterError, UnrecoverableJobError } from '../../src/jobs/types.ts';

const now = 1_700_000_000_000;
const gh = (status: number, headers: Record<string, string> = {}, message = 'Error') =>
  Object.assign(new Error(message), { status, response: { headers } });

t.test('rate limits wait as GitHub says, within bounds', async (t) => {
  t.equal(rateLimitWaitMs(gh(403, { 'retry-after': '30' }), now), 30_000);
  t.equal(
    rateLimitWaitMs(
      gh(403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(now / 1000 + 120) }),
      now,
    ),
    121_000,
  );
  t.equal(rateLimitWaitMs(gh(429), now), 60_000, '429 without headers: a minute');
  t.equal(rateLimitWaitMs(gh(403, {}, 'You have exceeded a secondary rate limit'), now), 60_000);
  t.equal(rateLimitWaitMs(gh(403, { 'retry-after': '999999' }), now), 3600_000, 'capped');
  t.equal(rateLimitWaitMs(gh(403, {}, 'Resource not accessible by integration'), now), undefined);
  t.equal(rateLimitWaitMs(undefined), undefined);
  const mapped = toJobError(gh(429, { 'retry-after': '5' }), now);
  t.ok(mapped instanceof RetryLaterError);
  t.equal((mapped as RetryLaterError).delayMs, 5000);
});

t.test('other 4xx and a lost connection are final; 5xx and network errors retry', async (t) => {
  const forbidden = toJobError(gh(403, {}, 'Resource not accessible by integration\nmore'));
  t.ok(forbidden instanceof UnrecoverableJobError);
  t.equal(
    (forbidden as Error).message,
    'GitHub answered 403: Resource not accessible by integration',
  );
  t.ok(toJobError(gh(422)) instanceof UnrecoverableJobError);
  const reconnect = Object.assign(new Error('The GitHub connection needs to be reconnected: x'), {
    code: 'FFX_ERR_GITHUB_RECONNECT',
    statusCode: 409,
  });
  t.ok(toJobError(reconnect) instanceof UnrecoverableJobError);
  const serverError = gh(502);
  t.equal(toJobError(serverError), serverError);
  const network = new TypeError('fetch failed');
  t.equal(toJobError(network), network);
  const already = new RetryLaterError(10);
  t.equal(toJobError(already), already);
});
