// Downloads the log of one Actions job. GitHub answers the job-log endpoint with a 302 to a
// short-lived signed URL on another origin (fetched without our token); when the job log
// is gone or not offered, the run's log archive (a zip of "{n}_{job name}.txt" files, and
// "{job name}/{n}_{step}.txt" per step) is the fallback. Logs can be huge: only the last
// MAX_LOG_BYTES are kept (a failure is at the end), read as a stream, never whole.
import type { Octokit } from '@octokit/rest';
import { unzipSync } from 'fflate';

export const MAX_LOG_BYTES = 5 * 1024 * 1024;
/** A run archive bigger than this is not worth unpacking for one job. */
export const MAX_ARCHIVE_BYTES = 100 * 1024 * 1024;
const DOWNLOAD_TIMEOUT_MS = 60_000;

/** The log no longer exists (expired, deleted) or was never produced. */
export class LogUnavailableError extends Error {
  override name = 'LogUnavailableError';
}

export interface JobLogRequest {
  owner: string;
  repo: string;
  jobId: number;
  jobName: string;
  /** For the archive fallback. */
  runId: number;
}

export interface JobLog {
  text: string;
  /** True when the beginning was dropped to stay under the size cap. */
  truncated: boolean;
  source: 'job' | 'run-archive';
}

type Requester = Pick<Octokit, 'request'>;

interface StreamResponse {
  status: number;
  headers: Record<string, string | number | undefined>;
  data: unknown;
}

function statusOf(err: unknown): number | undefined {
  const status = (err as { status?: unknown }).status;
  return typeof status === 'number' ? status : undefined;
}

/** 404 and 410 mean "no such log": anything else is a real failure for the caller to judge. */
function isGone(err: unknown): boolean {
  const status = statusOf(err);
  return status === 404 || status === 410;
}

export async function downloadJobLog(
  octokit: Requester,
  req: JobLogRequest,
  opts: { maxBytes?: number; signal?: AbortSignal | undefined } = {},
): Promise<JobLog> {
  const maxBytes = opts.maxBytes ?? MAX_LOG_BYTES;
  try {
    const response = (await octokit.request(
      'GET /repos/{owner}/{repo}/actions/jobs/{job_id}/logs',
      {
        owner: req.owner,
        repo: req.repo,
        job_id: req.jobId,
        request: { redirect: 'manual', parseSuccessResponseBody: false, signal: opts.signal },
      },
    )) as unknown as StreamResponse;
    const body = await followToBody(response, maxBytes, { signal: opts.signal });
    return {
      text: decodeTail(body.bytes, body.truncated),
      truncated: body.truncated,
      source: 'job',
    };
  } catch (err) {
    if (!isGone(err)) throw err;
  }
  return downloadFromRunArchive(octokit, req, maxBytes, opts.signal);
}

async function downloadFromRunArchive(
  octokit: Requester,
  req: JobLogRequest,
  maxBytes: number,
  signal: AbortSignal | undefined,
): Promise<JobLog> {
  let archive: { bytes: Uint8Array; truncated: boolean };
  try {
    const response = (await octokit.request(
      'GET /repos/{owner}/{repo}/actions/runs/{run_id}/logs',
      {
        owner: req.owner,
        repo: req.repo,
        run_id: req.runId,
        request: { redirect: 'manual', parseSuccessResponseBody: false, signal },
      },
    )) as unknown as StreamResponse;
    archive = await followToBody(response, MAX_ARCHIVE_BYTES, { failWhenLarger: true, signal });
  } catch (err) {
    if (isGone(err)) throw new LogUnavailableError(`no log for job ${req.jobId}`);
    throw err;
  }
  const text = jobLogFromArchive(archive.bytes, req.jobName);
  if (text === undefined) {
    throw new LogUnavailableError(`the run's log archive has no file for job "${req.jobName}"`);
  }
  const bytes = Buffer.from(text, 'utf8');
  const truncated = bytes.length > maxBytes;
  const kept = truncated ? bytes.subarray(bytes.length - maxBytes) : bytes;
  return { text: decodeTail(kept, truncated), truncated, source: 'run-archive' };
}

/** The file name GitHub gives a job in the archive (path separators and reserved characters made safe). */
function safeName(jobName: string): string {
  return jobName.replace(/[/\\:*?"<>|]/g, '_').trim();
}

/**
 * The job's whole log ("{n}_{job}.txt" at the top), else its per-step files
 * ("{job}/{n}_{step}.txt") joined in step order.
 */
export function jobLogFromArchive(zip: Uint8Array, jobName: string): string | undefined {
  const wanted = safeName(jobName);
  const topLevel = /^\d+_(.+)\.txt$/;
  const files = unzipSync(zip, {
    filter: (file) => {
      const whole = topLevel.exec(file.name);
      if (whole) return whole[1] === wanted;
      const slash = file.name.indexOf('/');
      return slash > 0 && file.name.slice(0, slash) === wanted && file.name.endsWith('.txt');
    },
  });
  const decoder = new TextDecoder();
  const names = Object.keys(files);
  const whole = names.find((n) => topLevel.test(n) && !n.includes('/'));
  if (whole) return decoder.decode(files[whole]);
  const steps = names
    .filter((n) => n.includes('/'))
    .map((n) => ({ n, order: Number(/\/(\d+)_/.exec(n)?.[1] ?? Number.MAX_SAFE_INTEGER) }))
    .sort((a, b) => a.order - b.order);
  if (steps.length === 0) return undefined;
  return steps.map((s) => decoder.decode(files[s.n])).join('\n');
}

async function followToBody(
  response: StreamResponse,
  maxBytes: number,
  opts: { failWhenLarger?: boolean; signal?: AbortSignal | undefined } = {},
): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  if (response.status >= 300 && response.status < 400) {
    await cancel(response.data);
    const location = response.headers['location'];
    if (typeof location !== 'string' || location === '') {
      throw new Error(`GitHub redirected the log download without a location (${response.status})`);
    }
    // A signed URL on a storage origin: fetched without our Authorization header.
    const blob = await fetch(location, {
      redirect: 'follow',
      signal: opts.signal
        ? AbortSignal.any([opts.signal, AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS)])
        : AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS),
    });
    if (blob.status === 404 || blob.status === 410) {
      await blob.body?.cancel();
      throw Object.assign(new LogUnavailableError('the log storage no longer has this log'), {
        status: blob.status,
      });
    }
    if (!blob.ok || !blob.body) {
      await blob.body?.cancel();
      // The signed URL is deliberately left out of the message: it grants access.
      throw new Error(`log download failed: storage answered HTTP ${blob.status}`);
    }
    return readTail(blob.body, maxBytes, opts.failWhenLarger ?? false);
  }
  const data = response.data;
  if (data && typeof (data as ReadableStream).getReader === 'function') {
    return readTail(data as ReadableStream<Uint8Array>, maxBytes, opts.failWhenLarger ?? false);
  }
  if (typeof data === 'string') {
    const bytes = Buffer.from(data, 'utf8');
    return bytes.length > maxBytes
      ? { bytes: bytes.subarray(bytes.length - maxBytes), truncated: true }
      : { bytes, truncated: false };
  }
  throw new Error(`GitHub answered the log download with an unexpected body (${response.status})`);
}

async function cancel(data: unknown): Promise<void> {
  if (data && typeof (data as ReadableStream).cancel === 'function') {
    await (data as ReadableStream).cancel().catch(() => {});
  }
}

/** Reads a stream keeping only its last maxBytes (or failing once it is bigger). */
export async function readTail(
  stream: ReadableStream<Uint8Array>,
  maxBytes: number,
  failWhenLarger = false,
): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  const chunks: Uint8Array[] = [];
  let held = 0;
  let truncated = false;
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      held += value.byteLength;
      if (held > maxBytes) {
        if (failWhenLarger) {
          throw new LogUnavailableError(`the log archive is larger than ${maxBytes} bytes`);
        }
        truncated = true;
        // Drop whole chunks from the front while the rest still covers maxBytes.
        while (chunks.length > 1 && held - chunks[0]!.byteLength >= maxBytes) {
          held -= chunks.shift()!.byteLength;
        }
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const all = Buffer.concat(chunks);
  return { bytes: all.length > maxBytes ? all.subarray(all.length - maxBytes) : all, truncated };
}

/** UTF-8 text of a tail; a cut start loses its partial first line, never a character mid-way. */
function decodeTail(bytes: Uint8Array, truncated: boolean): string {
  const text = new TextDecoder().decode(bytes);
  if (!truncated) return text;
  const firstBreak = text.indexOf('\n');
  return firstBreak === -1 ? text : text.slice(firstBreak + 1);
}
