// Log download details the fake GitHub does not exercise: the tail kept under the size cap
// (cut at a line, never mid-character), a job log answered directly with 200 (some proxies
// and GitHub Enterprise setups), and the archive's per-step layout.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { strToU8, zipSync } from 'fflate';
import t from 'tap';
import { downloadJobLog, jobLogFromArchive, readTail } from '../../../src/github/logs.ts';

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(Buffer.from(c, 'utf8'));
      controller.close();
    },
  });
}

t.test('readTail keeps the last bytes, or refuses when asked to', async (t) => {
  const whole = await readTail(streamOf(['abc', 'def']), 100);
  t.same(Buffer.from(whole.bytes).toString(), 'abcdef');
  t.equal(whole.truncated, false);
  const tail = await readTail(streamOf(['line one\n', 'line two\n', 'line three\n']), 12);
  t.equal(tail.truncated, true);
  t.equal(Buffer.from(tail.bytes).toString(), '\nline three\n');
  await t.rejects(readTail(streamOf(['x'.repeat(10), 'y'.repeat(10)]), 15, true), {
    name: 'LogUnavailableError',
  });
});

t.test('a 200 answer is read directly; only the end of a long log is kept', async (t) => {
  const lines = Array.from({ length: 200 }, (_, i) => `line ${i} — é`).join('\n');
  const requester = {
    request: (async () => ({
      status: 200,
      headers: {},
      data: streamOf([lines]),
    })) as never,
  };
  const log = await downloadJobLog(
    requester,
    { owner: 'o', repo: 'r', jobId: 1, jobName: 'test', runId: 2 },
    { maxBytes: 100 },
  );
  t.equal(log.source, 'job');
  t.equal(log.truncated, true);
  t.ok(log.text.endsWith('line 199 — é'));
  t.ok(log.text.startsWith('line '), 'starts at a whole line');
  t.notMatch(log.text, /\uFFFD/, 'no broken character');
});

t.test('the archive: whole-job files first, else the job folder in step order', async (t) => {
  const zip = zipSync({
    '0_build.txt': strToU8('build log'),
    '1_unit _ node 20.txt': strToU8('unit log'),
    'lint/2_Run npm run lint.txt': strToU8('second step'),
    'lint/1_Set up job.txt': strToU8('first step'),
    'lint/10_Complete job.txt': strToU8('last step'),
  });
  t.equal(jobLogFromArchive(zip, 'unit / node 20'), 'unit log');
  t.equal(jobLogFromArchive(zip, 'lint'), 'first step\nsecond step\nlast step');
  t.equal(jobLogFromArchive(zip, 'missing'), undefined);
});

t.test('shutdown cuts off a log download from storage in flight', async (t) => {
  // Storage that sends the headers and part of the log, then nothing more.
  let reached!: () => void;
  const started = new Promise<void>((resolve) => (reached = resolve));
  const storage = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('2024-01-01T00:00:00Z first line\n');
    reached();
  });
  await new Promise<void>((resolve) => storage.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    storage.closeAllConnections();
    storage.close();
  });
  const { port } = storage.address() as AddressInfo;
  const requester = {
    request: (async () => ({
      status: 302,
      headers: { location: `http://127.0.0.1:${port}/log` },
      data: null,
    })) as never,
  };
  const closing = new AbortController();
  const download = downloadJobLog(
    requester,
    { owner: 'o', repo: 'r', jobId: 1, jobName: 'test', runId: 2 },
    { signal: closing.signal },
  );
  await started;
  closing.abort();
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    download.then(
      () => 'finished',
      (err: unknown) => (err as Error).name,
    ),
    // The download's own timeout is minutes away: this is the signal or nothing.
    new Promise((resolve) => (timer = setTimeout(resolve, 5_000, 'still downloading'))),
  ]);
  clearTimeout(timer);
  t.equal(outcome, 'AbortError');
});
