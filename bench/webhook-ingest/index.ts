// Benchmark: webhook ingestion against real Postgres, compared with the limit harness
// (verify HMAC + INSERT raw payload). Drives signed workflow_job/workflow_run deliveries
// of realistic size at full speed (autocannon, 32 and 128 connections) and at a fixed 500/s
// (open loop, below), checks every 2xx was stored and redeliveries were stored once, samples
// the server's RSS, and writes bench/results/webhook-ingest.md (+ .json).
//
//   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench -- webhook-ingest
//   options (env): BENCH_SECONDS (default 15), BENCH_CONNECTIONS (default 32),
//   BENCH_SATURATION_CONNECTIONS (128; 0 leaves that scenario out), BENCH_RATE (500),
//   BENCH_WARMUP (seconds at full speed before measuring, default 5),
//   BENCH_REPEAT (rounds of each scenario, default 5, 3 with BENCH_QUICK: each round runs the harness and full
//   ingestion once, one after the other; medians are reported)
//   for working on the hot path: BENCH_QUICK=1 (full ingestion at full speed only, no report;
//   BENCH_QUICK=rate: at the fixed rate only; BENCH_QUICK=pair: harness and full ingestion at
//   full speed, printing the rounds' ratios),
//   BENCH_PROFILE=1 (the same with a CPU profile in bench/results/profile/),
//   BENCH_NODE_FLAGS="--trace-gc …" (flags for the server; its stdout is shown then)
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { cpus, totalmem } from 'node:os';
import autocannon from 'autocannon';
import postgres from 'postgres';
import { generateKeyringString, parseKeyring } from '../../src/crypto/keyring.ts';
import { secretContext } from '../../src/crypto/encrypted-columns.ts';
import { createSecretBox } from '../../src/crypto/secret-box.ts';
import { openDatabase } from '../../src/db/client.ts';
import { repositoryConnections, users } from '../../src/db/schema/index.ts';
import { PROJECT_ROOT } from '../../src/paths.ts';
import { templates } from './payloads.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
/**
 * Connections of the second full-speed scenario. 32 requests in flight keep the harness's
 * CPU busy but leave group commit waiting on its own transactions (a closed loop: each
 * connection waits for its answer); with more in flight both are limited by CPU alone —
 * the throughput each can sustain.
 */
const SATURATION = Number(process.env.BENCH_SATURATION_CONNECTIONS ?? 128);
const RATE = Number(process.env.BENCH_RATE ?? 500);
/** Seconds each server runs at full speed before anything is measured. */
const WARMUP = Number(process.env.BENCH_WARMUP ?? 5);
/** BENCH_PROFILE=1: full ingestion at full speed only, with a CPU profile of the server. */
const PROFILE = process.env.BENCH_PROFILE === '1';
/** BENCH_QUICK=1 (or profiling): full ingestion at full speed only, printed, no report. */
const QUICK_RATE = process.env.BENCH_QUICK === 'rate';
/** BENCH_QUICK=pair: the paired full-speed runs alone (the throughput ratio), no report. */
const QUICK_PAIR = process.env.BENCH_QUICK === 'pair';
const QUICK = PROFILE || QUICK_RATE || QUICK_PAIR || process.env.BENCH_QUICK === '1';
/**
 * Rounds of each scenario; the report shows the median run (medianOf) and the range. On this
 * 2-core VM one run of the same code swings by a third, so a single run proves little.
 */
const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT ?? (QUICK ? 3 : 5)));
const PROFILE_DIR = new URL('../results/profile/', import.meta.url).pathname;
/** BENCH_NODE_FLAGS: extra node flags for the server (e.g. "--trace-gc"), space-separated. */
const NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
const ADMIN_URL =
  process.env.BENCH_DATABASE_URL ??
  process.env.TEST_DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/test';
const SECRET = 'bench-webhook-secret-' + randomUUID();
const REPO_ID = 424242;

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
}

/** CPU seconds (user + system) a process has used; with `reaped`, its waited-for children's too. */
function cpuSeconds(pid: number, reaped = false): number {
  // Fields after the command name (which may hold spaces): state is [0], utime [11] …
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  const ticks = f[11]! + f[12]! + (reaped ? f[13]! + f[14]! : 0);
  return ticks / 100;
}

/**
 * CPU seconds used by Postgres on this machine: every postgres process, plus what exited
 * backends used (counted in the postmaster's children times). Null when Postgres runs
 * elsewhere (or /proc cannot show it).
 */
function postgresCpuSeconds(): number | null {
  const procs: Array<{ pid: number; ppid: number }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (!stat.includes('(postgres)')) continue;
      procs.push({
        pid: Number(entry),
        ppid: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]),
      });
    } catch {
      // exited meanwhile
    }
  }
  if (procs.length === 0) return null;
  const pids = new Set(procs.map((p) => p.pid));
  let total = 0;
  for (const p of procs) {
    try {
      total += cpuSeconds(p.pid, !pids.has(p.ppid));
    } catch {
      // exited meanwhile
    }
  }
  return total;
}

async function waitReady(url: string, ms = 60_000) {
  const start = Date.now();
  while (Date.now() - start < ms) {
    try {
      const r = await fetch(url);
      if (r.status < 500) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not come up`);
}

/** A run's commit: every run of the benchmark is of its own commit, as in real life. */
const SHA_SENTINEL = 'ffffffffeeeeeeeeddddddddccccccccbbbbbbbb';
const shaOf = (runId: string) => createHash('sha1').update(runId).digest('hex');

/** Template strings with sentinel ids, so each request only costs a replace and an HMAC. */
function requestFactory(seed: number) {
  const { runs, jobs } = templates();
  const prep = (t: Record<string, unknown>, kind: 'run' | 'job') => {
    const c = structuredClone(t);
    (c.repository as Record<string, unknown>).id = REPO_ID;
    if (kind === 'run') {
      (c.workflow_run as Record<string, unknown>).id = 777000000001;
      (c.workflow_run as Record<string, unknown>).updated_at = '2099-01-01T00:00:00Z';
      (c.workflow_run as Record<string, unknown>).head_sha = SHA_SENTINEL;
    } else {
      (c.workflow_job as Record<string, unknown>).id = 777000000002;
      (c.workflow_job as Record<string, unknown>).run_id = 777000000001;
      (c.workflow_job as Record<string, unknown>).head_sha = SHA_SENTINEL;
    }
    return JSON.stringify(c);
  };
  const runT = runs.filter((r) => r.action === 'completed').map((r) => prep(r, 'run'));
  const jobT = jobs.map((j) => prep(j, 'job'));
  let n = 0;
  return () => {
    const i = n++;
    const runId = String(9_000_000_000 + seed * 10_000_000 + Math.floor(i / 4));
    const isRun = i % 4 === 3;
    let body = (isRun ? runT[i % runT.length]! : jobT[i % jobT.length]!)
      .split('777000000001')
      .join(runId)
      .split(SHA_SENTINEL)
      .join(shaOf(runId));
    if (!isRun)
      body = body.split('777000000002').join(String(8_000_000_000 + seed * 10_000_000 + i));
    return {
      body,
      headers: {
        'content-type': 'application/json',
        'x-github-event': isRun ? 'workflow_run' : 'workflow_job',
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
        'user-agent': 'GitHub-Hookshot/bench',
      },
    };
  };
}

/** What a run's load generator saw. */
interface Answers {
  reqPerSec: number;
  p50: number;
  p99: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
}

interface Scenario extends Answers {
  target: string;
  scenario: string;
  stored: number;
  peakRssMb: number;
  /** CPU milliseconds per request: the receiving server process, and Postgres (if local). */
  cpuMsServer: number;
  cpuMsPostgres: number | null;
  /** req/s of the slowest and the fastest run. */
  reqPerSecRange: [number, number];
}

/**
 * Runs of one scenario → the median run, with totals over all runs: by req/s at full speed,
 * by p99 at a fixed rate (where every run's req/s is the rate).
 */
function medianOf(list: Scenario[], by: 'reqPerSec' | 'p99'): Scenario {
  const runs = [...list].sort((a, b) => a.reqPerSec - b.reqPerSec);
  const median = middle(list, (r) => r[by])!;
  const sum = (key: 'ok2xx' | 'non2xx' | 'errors' | 'stored') =>
    runs.reduce((n, r) => n + r[key], 0);
  return {
    ...median,
    ok2xx: sum('ok2xx'),
    non2xx: sum('non2xx'),
    errors: sum('errors'),
    stored: sum('stored'),
    peakRssMb: Math.max(...runs.map((r) => r.peakRssMb)),
    reqPerSecRange: [runs[0]!.reqPerSec, runs.at(-1)!.reqPerSec],
  };
}

/** The middle item by `value` (the lower of the two middle ones for an even count). */
function middle<T>(list: readonly T[], value: (item: T) => number): T | undefined {
  return [...list].sort((a, b) => value(a) - value(b))[Math.floor((list.length - 1) / 2)];
}

/** What one run of load produced, whichever generator drove it. */
interface Load extends Answers {
  requests: number;
  acked: string[];
}

/** Full speed: autocannon keeps `connections` requests in flight, sending each as one is answered. */
async function fullSpeed(
  url: string,
  next: ReturnType<typeof requestFactory>,
  connections: number,
  seconds = SECONDS,
): Promise<Load> {
  const acked: string[] = [];
  const result = await autocannon({
    url,
    method: 'POST',
    connections,
    duration: seconds,
    requests: [
      {
        // One request in flight per connection, so the context holds the current delivery.
        setupRequest: (req: autocannon.Request, context: object) => {
          const r = next();
          (context as { deliveryId?: string }).deliveryId = r.headers['x-github-delivery'];
          return { ...req, method: 'POST', body: r.body, headers: r.headers };
        },
        onResponse: (status: number, _body: string, context: object) => {
          if (status >= 200 && status < 300)
            acked.push(String((context as { deliveryId?: string }).deliveryId));
        },
      },
    ],
  });
  return {
    requests: result.requests.total,
    reqPerSec: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok2xx: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    acked,
  };
}

/**
 * A fixed rate, open loop: delivery k is due at start + k/rate and is sent then, however many
 * are still in flight (GitHub does not wait for our answers either), and its latency counts
 * from when it was due, so a stall shows in every delivery it holds up.
 *
 * Not autocannon's overallRate: that lets each connection send its share of the second as
 * fast as it is answered and then idle until the next second (a burst at full speed, not
 * a rate), and its coordinated-omission correction takes 1/rate *seconds* as the expected
 * interval in milliseconds (1 ms), adding a sample for every millisecond of each answer:
 * its p99 weighs every latency by its own size.
 */
async function fixedRate(
  url: string,
  next: ReturnType<typeof requestFactory>,
  rate: number,
): Promise<Load> {
  const agent = new Agent({ keepAlive: true, maxSockets: 512 });
  const total = Math.round(rate * SECONDS);
  const latencies: number[] = [];
  const load: Load = {
    requests: 0,
    reqPerSec: 0,
    p50: 0,
    p99: 0,
    ok2xx: 0,
    non2xx: 0,
    errors: 0,
    acked: [],
  };
  const start = performance.now();
  const dueAt = (k: number) => start + (k * 1000) / rate;
  await new Promise<void>((resolve) => {
    let sent = 0;
    let done = 0;
    const finished = () => {
      if (++done === total) resolve();
    };
    const send = (due: number) => {
      const r = next();
      const req = request(
        url,
        {
          method: 'POST',
          agent,
          headers: { ...r.headers, 'content-length': Buffer.byteLength(r.body) },
          timeout: 30_000,
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - due);
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) {
              load.ok2xx++;
              load.acked.push(r.headers['x-github-delivery']);
            } else load.non2xx++;
            finished();
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', () => {
        load.errors++;
        finished();
      });
      req.end(r.body);
    };
    const tick = () => {
      const now = performance.now();
      while (sent < total && dueAt(sent) <= now) send(dueAt(sent++));
      if (sent < total) setTimeout(tick, Math.max(0, dueAt(sent) - performance.now()));
    };
    tick();
  });
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies.length === 0
      ? 0
      : Math.round(latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)]!);
  return {
    ...load,
    requests: total,
    reqPerSec: Math.round(load.ok2xx / elapsed),
    p50: pct(0.5),
    p99: pct(0.99),
  };
}

/** Drives one target, sampling its RSS and the CPU it and Postgres use meanwhile. */
async function drive(
  url: string,
  pid: number,
  opts: { rate?: number; connections: number; seed: number },
) {
  const next = requestFactory(opts.seed);
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 100);
  const cpuBefore = { server: cpuSeconds(pid), postgres: postgresCpuSeconds() };
  const load = opts.rate
    ? await fixedRate(url, next, opts.rate)
    : await fullSpeed(url, next, opts.connections);
  clearInterval(sampler);
  const pgAfter = postgresCpuSeconds();
  const perRequest = (seconds: number) =>
    Math.round((seconds * 1000 * 1000) / Math.max(1, load.requests)) / 1000;
  const cpuMs = {
    server: perRequest(cpuSeconds(pid) - cpuBefore.server),
    postgres:
      pgAfter === null || cpuBefore.postgres === null
        ? null
        : perRequest(pgAfter - cpuBefore.postgres),
  };
  return { load, peakRss: peak, cpuMs };
}

async function redeliveries(url: string, count: number, seed: number) {
  const next = requestFactory(seed);
  const ids: string[] = [];
  let ok = 0;
  for (let i = 0; i < count; i++) {
    const r = next();
    ids.push(r.headers['x-github-delivery']);
    for (let k = 0; k < 2; k++) {
      const res = await fetch(url, { method: 'POST', body: r.body, headers: r.headers });
      if (res.status < 300) ok++;
    }
  }
  return { ok, ids };
}

async function main() {
  const dbName = `ffx_bench_${Date.now()}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${dbName}`);
  const u = new URL(ADMIN_URL);
  u.pathname = `/${dbName}`;
  const dbUrl = u.toString();
  const keys = generateKeyringString('bench');
  const sql = postgres(dbUrl, { max: 2, onnotice: () => {} });
  const results: Scenario[] = [];
  const children: ChildProcess[] = [];
  try {
    const database = await openDatabase({ databaseUrl: dbUrl, dataDir: 'memory://' });
    await database.migrate();
    const [user] = await database.db
      .insert(users)
      .values({ githubId: 1, login: 'bench' })
      .returning();
    const connectionId = randomUUID();
    const box = createSecretBox(parseKeyring(keys));
    await database.db.insert(repositoryConnections).values({
      id: connectionId,
      userId: user!.id,
      githubRepoId: REPO_ID,
      fullName: 'octo-org/bench',
      webhookSecretEnc: box.encrypt(
        SECRET,
        secretContext('repository_connections', 'webhook_secret_enc', connectionId),
      ),
    });
    await database.close();

    // The two servers, side by side on the same database; only one is driven at a time.
    // 1. The limit harness.
    const limitPort = await freePort();
    const limit =
      QUICK && !QUICK_PAIR
        ? null
        : fork(new URL('./limit-harness.ts', import.meta.url).pathname, [], {
            execArgv: ['--import', 'tsx'],
            env: {
              ...process.env,
              DATABASE_URL: dbUrl,
              BENCH_SECRET: SECRET,
              PORT: String(limitPort),
            },
          });
    if (limit) children.push(limit);
    const limitUrl = `http://127.0.0.1:${limitPort}/hook`;
    const storedLimit = async (ids: string[]) =>
      Number(
        // A join, not `= any(…)`: bench_raw has no index on delivery_id (the harness adds
        // none), and any() against thousands of ids made each count a 50 s scan.
        (
          await sql`select count(*)::int as n
                    from bench_raw join unnest(${ids}::text[]) as acked(id) on delivery_id = acked.id`
        )[0]!.n,
      );

    // 2. Full ingestion: the real server process.
    const port = await freePort();
    // The compiled build, as in production (Dockerfile): tsx's compiler would add to RSS.
    const build = spawnSync('npm', ['run', 'build'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
    if (build.status !== 0) throw new Error('npm run build failed');
    const server = spawn(
      process.execPath,
      [
        ...(PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : []),
        ...NODE_FLAGS,
        'dist/src/server.js',
      ],
      {
        cwd: PROJECT_ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          DATABASE_URL: dbUrl,
          ENCRYPTION_KEYS: keys,
          SESSION_SECRET: 'bench-session-secret-0123456789abcdefghijkl',
          PORT: String(port),
          LOG_LEVEL: 'warn',
          PUBLIC_URL: `http://127.0.0.1:${port}`,
          RATE_LIMIT_PER_MINUTE: '1000000',
        },
        stdio: ['ignore', NODE_FLAGS.length > 0 ? 'inherit' : 'ignore', 'inherit'],
      },
    );
    children.push(server);
    await waitReady(`http://127.0.0.1:${port}/healthz`);
    if (limit) await waitReady(limitUrl);
    console.error(`server idle RSS: ${Math.round(rssOf(server.pid!) / 2 ** 20)} MB`);
    const hookUrl = `http://127.0.0.1:${port}/api/v1/webhook/github/${connectionId}`;
    // Rows holding this benchmark's delivery ids (a redelivery must not add a second one).
    const storedFull = async (ids: string[]) =>
      Number(
        (
          await sql`select count(*)::int as n from webhook_deliveries
                    where hook_key = ${connectionId} and delivery_id = any(${ids})`
        )[0]!.n,
      );

    // Runs alternate between the two (harness first in even rounds, ingestion first in odd
    // ones): on a VM whose speed drifts by a third within minutes, both then see the same
    // machine, and each round gives its own ratio.
    // Both servers first run WARMUP seconds at full speed, unmeasured: a fresh process
    // runs its first seconds in V8's interpreter and baseline code, which would count
    // against whichever target happens to be measured first.
    for (const url of limit ? [limitUrl, hookUrl] : [hookUrl]) {
      await fullSpeed(url, requestFactory(url === hookUrl ? 97 : 98), CONNECTIONS, WARMUP);
    }
    // Ratios of paired full-speed runs, by connection count.
    const pairedRatios: Record<number, number[]> = {};
    const scenarios: Array<{ name: string; rate?: number; connections: number; seed: number }> = [
      ...(QUICK_RATE ? [] : [{ name: 'full speed', connections: CONNECTIONS, seed: 1 }]),
      ...(QUICK || SATURATION <= CONNECTIONS
        ? []
        : [{ name: `full speed, ${SATURATION} conn.`, connections: SATURATION, seed: 3 }]),
      ...(QUICK && !QUICK_RATE
        ? []
        : [{ name: `${RATE}/s`, rate: RATE, connections: CONNECTIONS, seed: 2 }]),
    ];
    for (const { name: scenario, rate, connections, seed } of scenarios) {
      const runs: Record<'limit' | 'full', Scenario[]> = { limit: [], full: [] };
      for (let i = 0; i < REPEAT; i++) {
        const order = !limit
          ? (['full'] as const)
          : i % 2 === 0
            ? (['limit', 'full'] as const)
            : (['full', 'limit'] as const);
        for (const target of order) {
          // Each run starts with nothing of the previous one's left to write: without this,
          // the kernel flushes a run's dirty pages ~30 s later, in the middle of the next run,
          // and a COMMIT waits 100+ ms for its WAL fsync behind that writeback.
          await sql`checkpoint`;
          const seedOf = (seed * 10 + i) * 2 + (target === 'full' ? 1 : 0);
          if (target === 'limit') {
            const r = await drive(limitUrl, limit!.pid!, { rate, connections, seed: seedOf });
            const stored = await storedLimit(r.load.acked);
            runs.limit.push(
              summarise('limit harness', scenario, r.load, stored, r.peakRss, r.cpuMs),
            );
          } else {
            const r = await drive(hookUrl, server.pid!, { rate, connections, seed: seedOf });
            const stored = await storedFull(r.load.acked);
            runs.full.push(
              summarise('full ingestion', scenario, r.load, stored, r.peakRss, r.cpuMs),
            );
          }
          console.error(`${target} ${scenario} run ${i + 1}:`, runs[target].at(-1));
        }
        if (limit && rate === undefined) {
          (pairedRatios[connections] ??= []).push(
            runs.full.at(-1)!.reqPerSec / runs.limit.at(-1)!.reqPerSec,
          );
        }
      }
      const by = rate === undefined ? 'reqPerSec' : 'p99';
      if (limit) results.push(medianOf(runs.limit, by));
      results.push(medianOf(runs.full, by));
    }
    if (QUICK) {
      if (QUICK_PAIR) {
        const list = pairedRatios[CONNECTIONS] ?? [];
        console.error(
          `ratios: ${list.map((r) => r.toFixed(2)).join(' ')}; median ${middle(list, (r) => r)?.toFixed(2)}`,
        );
        limit!.kill('SIGTERM');
      }
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
      if (PROFILE) console.error(`CPU profile written to ${PROFILE_DIR}`);
      return;
    }
    limit!.kill('SIGTERM');
    const again = await redeliveries(hookUrl, 200, 9);
    const redelivered = { sent: 400, acked: again.ok, stored: await storedFull(again.ids) };
    server.kill('SIGTERM');

    const atRate = results.find(
      (r) => r.target === 'full ingestion' && r.scenario === `${RATE}/s`,
    )!;
    // The median of the rounds' ratios: each compares two runs made a few seconds apart.
    const medianRatio = (list: number[] = []) => middle(list, (r) => r) ?? Number.NaN;
    const ratio = medianRatio(pairedRatios[CONNECTIONS]);
    const saturationRatio = medianRatio(pairedRatios[SATURATION]);
    const report = {
      date: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model,
        memoryGb: Math.round(totalmem() / 2 ** 30),
        node: process.version,
      },
      settings: {
        seconds: SECONDS,
        connections: CONNECTIONS,
        saturation: SATURATION,
        rate: RATE,
        repeat: REPEAT,
        warmup: WARMUP,
      },
      results,
      redeliveries: redelivered,
      ratio,
      saturationRatio,
      pairedRatios,
      targets: {
        [`throughput ≥ 1.0× limit harness (${CONNECTIONS} connections)`]: ratio >= 1,
        [`p99 ≤ 50 ms at ${RATE}/s`]: atRate.p99 <= 50,
        'every 2xx stored': results.every((r) => r.stored === r.ok2xx),
        'redeliveries stored once': redelivered.stored === 200,
        'RSS < 250 MB': results
          .filter((r) => r.target === 'full ingestion')
          .every((r) => r.peakRssMb < 250),
      },
    };
    mkdirSync(new URL('../results/', import.meta.url), { recursive: true });
    writeFileSync(
      new URL('../results/webhook-ingest.json', import.meta.url),
      JSON.stringify(report, null, 2) + '\n',
    );
    writeFileSync(new URL('../results/webhook-ingest.md', import.meta.url), markdown(report));
    console.log(markdown(report));
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await sql.end();
    await admin.unsafe(`drop database if exists ${dbName} with (force)`);
    await admin.end();
  }
}

function summarise(
  target: string,
  scenario: string,
  load: Load,
  stored: number,
  peakRss: number,
  cpuMs: { server: number; postgres: number | null },
): Scenario {
  return {
    target,
    scenario,
    reqPerSec: load.reqPerSec,
    p50: load.p50,
    p99: load.p99,
    ok2xx: load.ok2xx,
    non2xx: load.non2xx,
    errors: load.errors,
    stored,
    peakRssMb: Math.round(peakRss / 2 ** 20),
    cpuMsServer: cpuMs.server,
    cpuMsPostgres: cpuMs.postgres,
    reqPerSecRange: [load.reqPerSec, load.reqPerSec],
  };
}

function markdown(report: {
  date: string;
  machine: Record<string, unknown>;
  settings: Record<string, number>;
  results: Scenario[];
  redeliveries: { sent: number; acked: number; stored: number };
  ratio: number;
  saturationRatio: number;
  pairedRatios: Record<number, number[]>;
  targets: Record<string, boolean>;
}): string {
  const { settings } = report;
  const rows = report.results
    .map(
      (r) =>
        `| ${r.target} | ${r.scenario} | ${r.reqPerSec} (${r.reqPerSecRange[0]}–${r.reqPerSecRange[1]}) | ${r.p50} | ${r.p99} | ${r.ok2xx} | ${r.non2xx} | ${r.errors} | ${r.stored} | ${r.peakRssMb} | ${r.cpuMsServer} | ${r.cpuMsPostgres ?? 'n/a'} |`,
    )
    .join('\n');
  const targets = Object.entries(report.targets)
    .map(([k, v]) => `- ${v ? 'met' : '**missed**'}: ${k}`)
    .join('\n');
  const rounds = (connections: number) =>
    (report.pairedRatios[connections] ?? []).map((r) => `${r.toFixed(2)}×`).join(', ');
  const saturation = Number.isNaN(report.saturationRatio)
    ? ''
    : `\nWith ${settings.saturation} connections, where both are limited by CPU alone: **${report.saturationRatio.toFixed(2)}×** (${rounds(settings.saturation!)}).`;
  return `# Benchmark: webhook ingestion

${report.date} · ${report.machine.cpus} cores (${report.machine.cpuModel}), ${report.machine.memoryGb} GB, Node ${report.machine.node} ·
${settings.repeat} rounds of ${settings.seconds} s runs per scenario: each row is the median run — by req/s at full speed, by
p99 at ${settings.rate}/s — with the range of all runs' req/s in brackets; 2xx, rows stored and errors are totals over the runs.
Real Postgres; signed workflow_job/workflow_run deliveries built from @octokit/webhooks-examples
(7–20 KB each, every one a distinct delivery, job and run of its own commit). The load generator runs on the same
machine and shares its 2 cores.

| target | scenario | req/s | p50 ms | p99 ms | 2xx | non-2xx | errors | rows stored | peak RSS MB | CPU ms/req server | CPU ms/req Postgres |
|---|---|---|---|---|---|---|---|---|---|---|---|
${rows}

Full ingestion / limit harness throughput at full speed (${settings.connections} connections): **${report.ratio.toFixed(2)}×**, the median of
the rounds' ratios (${rounds(settings.connections!)}).${saturation} Each round runs the harness and full
ingestion one after the other (alternating which goes first), so both meet the same machine.
Redeliveries: ${report.redeliveries.sent} requests (each delivery twice) → ${report.redeliveries.acked} acknowledged, ${report.redeliveries.stored} stored.

Targets:
${targets}

The limit harness verifies the HMAC on the raw bytes and INSERTs the raw payload (as jsonb) with
postgres.js, one row per request. Full ingestion verifies, parses, records the delivery with its
payload (as text, lz4-compressed by Postgres), dedupes, upserts the run and its jobs and decides incidents,
acknowledging only after its transaction commits (the examples' completed runs succeeded or have
no conclusion: incident logic asks which runs it has work for, and opens nothing). It runs the compiled build (\`dist/\`), as the
Docker image does.

How it is driven:
- Full speed: autocannon with a fixed number of connections, each sending its next delivery
  when the last is answered.
- ${settings.rate}/s: open loop — delivery k is due at start + k/${settings.rate} s and is sent then, however many
  are still unanswered, and its latency counts from when it was due. (Not autocannon's
  \`overallRate\`: it lets each connection send its share of the second as fast as it is
  answered, then idle — a burst, not a rate — and its coordinated-omission correction takes
  1/rate seconds as the expected interval in milliseconds, adding a sample for every
  millisecond of each answer.)
- Each server first runs ${settings.warmup} s at full speed, unmeasured (V8 compiles the hot code), and
  every run starts after a \`CHECKPOINT\`, so no run is slowed by the writeback of the one before.

CPU ms/req is CPU time per request, measured from /proc: of the receiving server process, and of
all Postgres processes together. Unlike req/s it does not depend on what else the 2 cores were
doing, so it is the figure to compare between runs.
Reproduce: \`BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench -- webhook-ingest\`.
`;
}

await main();
