// One translation of GitHub failures into Flowfix's coded errors, for the repository and
// run actions a person triggers: what GitHub said, in words that tell them what to do.
// Already-coded errors (reconnect needed, …) pass through unchanged.
import { errors } from '../../errors.ts';

interface GitHubErrorShape {
  status?: unknown;
  code?: unknown;
  message?: unknown;
  response?: { data?: unknown; headers?: Record<string, unknown> };
}

export function githubStatus(err: unknown): number | undefined {
  const status = (err as GitHubErrorShape | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

/** GitHub's own message (and its validation messages), first line, without request data. */
export function githubMessage(err: unknown): string {
  const data = (err as GitHubErrorShape).response?.data as
    { message?: unknown; errors?: Array<{ message?: unknown }> } | undefined;
  const detail = (data?.errors ?? [])
    .map((e) => (typeof e?.message === 'string' ? e.message : ''))
    .filter(Boolean)
    .join('; ');
  const message =
    typeof data?.message === 'string' ? data.message : String((err as Error).message ?? '');
  return (detail ? `${message}: ${detail}` : message).split('\n')[0]!.slice(0, 300);
}

/** The coded error to throw for a failed GitHub call about `what` (e.g. "Repository"). */
export function fromGitHub(err: unknown, what: string): Error {
  const code = (err as GitHubErrorShape | null)?.code;
  if (typeof code === 'string' && code.startsWith('FFX_ERR_')) return err as Error;
  const status = githubStatus(err);
  if (status === 404) return new errors.NOT_FOUND(`${what} (on GitHub)`);
  if (status === 401) return new errors.GITHUB_RECONNECT('GitHub rejected the token');
  const remaining = (err as GitHubErrorShape).response?.headers?.['x-ratelimit-remaining'];
  if (
    status === 429 ||
    (status === 403 && (remaining === '0' || /rate limit/i.test(githubMessage(err))))
  ) {
    return new errors.UNAVAILABLE('GitHub rate limit reached; try again in a few minutes');
  }
  if (status === 403) return new errors.FORBIDDEN(`GitHub refused: ${githubMessage(err)}`);
  if (status === 409 || status === 422)
    return new errors.CONFLICT(`GitHub refused: ${githubMessage(err)}`);
  return new errors.GITHUB_UPSTREAM(status === undefined ? 'no answer' : `HTTP ${status}`);
}
