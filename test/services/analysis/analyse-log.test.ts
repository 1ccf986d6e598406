import t from 'tap';
import {
  MAX_EXCERPT_BYTES,
  MAX_EXCERPT_LINES,
  MAX_REFERENCES,
  analyseLog,
} from '../../../src/services/analysis/analyse-log.ts';
import { MAX_LINE_LENGTH } from '../../../src/services/analysis/parse-log.ts';

const stamp = (lines: string[]) =>
  lines
    .map((l, i) => `2024-05-14T09:21:${String(i % 60).padStart(2, '0')}.1234567Z ${l}`)
    .join('\n');

const JEST_JOB = [
  "Current runner version: '2.316.1'",
  '##[group]Run npm ci',
  'npm ci',
  '##[endgroup]',
  'added 10 packages',
  '##[group]Run npm test',
  'npm test',
  'shell: /usr/bin/bash -e {0}',
  'env:',
  '  GH_TOKEN: ghp_16C7e42F292c6912E7710c838347Ae178B4a',
  '##[endgroup]',
  '> jest --ci',
  'FAIL src/sum.test.js',
  '  ● sum › adds',
  '',
  '    expect(received).toBe(expected) // Object.is equality',
  '',
  '      at Object.toBe (src/sum.test.js:6:23)',
  '',
  '  ● sum › subtracts',
  '',
  '    expect(received).toBe(expected) // Object.is equality',
  '',
  '      at Object.toBe (src/sum.test.js:10:5)',
  '',
  'Tests: 2 failed, 3 passed, 5 total',
  '##[error]Process completed with exit code 1.',
  'Post job cleanup.',
  'Cleaning up orphan processes',
];

t.test('analyses a failed test step', async (t) => {
  const a = analyseLog(stamp(JEST_JOB), { jobName: 'test (20.x)' });
  t.equal(a.failureType, 'test');
  t.equal(a.confidence, 0.9);
  t.equal(a.tool, 'jest');
  t.equal(a.failedStep, 'Run npm test');
  t.equal(a.firstError, 'sum › adds: expect(received).toBe(expected) // Object.is equality');
  t.equal(a.errorCount, 2, 'the exit code trailer is not counted');
  t.same(a.references, [
    { file: 'src/sum.test.js', line: 6, column: 23 },
    { file: 'src/sum.test.js', line: 10, column: 5 },
  ]);
  t.equal(
    a.summary,
    'The step "Run npm test" in job "test (20.x)" failed: tests failed. The first error, reported by jest, is ' +
      '"sum › adds: expect(received).toBe(expected) // Object.is equality" at src/sum.test.js:6:23. 2 errors were found in all.',
  );
  t.match(a.signals[0], /^test: the first error comes from jest/);
  const excerpt = a.excerpt.split('\n');
  t.same(
    excerpt.slice(0, 3),
    ['env:', '  GH_TOKEN: [REDACTED]', '##[endgroup]'],
    'five lines of context before the first error, scrubbed',
  );
  t.equal(
    excerpt.at(-1),
    '##[error]Process completed with exit code 1.',
    'the excerpt stays in the step',
  );
  t.notMatch(JSON.stringify(a), /ghp_/);
});

t.test('the caller can name the failed step', async (t) => {
  const a = analyseLog(stamp(JEST_JOB), { failedSteps: ['Run npm ci'] });
  t.equal(a.failedStep, 'Run npm ci');
  t.equal(a.firstError, null);
  t.equal(a.errorCount, 0);
  t.equal(a.failureType, 'dependency', 'from the step name alone');
  t.equal(a.confidence, 0.5);
  t.equal(
    a.summary,
    'The step "Run npm ci" failed: dependencies could not be resolved or installed (the name of the failed step). ' +
      'No error message was recognised in the log.',
  );
  t.equal(
    a.excerpt,
    '##[group]Run npm ci\nnpm ci\n##[endgroup]\nadded 10 packages',
    'the end of the step',
  );
});

t.test('everything returned is scrubbed', async (t) => {
  const log = stamp([
    '##[group]Run curl -H "Authorization: token ghp_16C7e42F292c6912E7710c838347Ae178B4a" https://api.github.com',
    '##[endgroup]',
    'Error: request with sk-ant-api03-secretsecretsecret failed',
    '    at main (/home/runner/work/a/a/src/ghs_LeakedInPath/x.ts:3:5)',
    '##[error]Process completed with exit code 1.',
  ]);
  const a = analyseLog(log, { jobName: 'deploy ffx_abcdef123456' });
  const all = JSON.stringify(a);
  for (const prefix of ['ghp_', 'ghs_', 'sk-ant-', 'ffx_']) t.notMatch(all, prefix);
  t.equal(a.firstError, 'Error: request with [REDACTED] failed');
  t.equal(a.references.length, 1);
  t.match(a.failedStep, /^Run curl -H "Authorization: \[REDACTED\]"/);
});

t.test('a token cut in half by the line cap is still redacted', async (t) => {
  const line = `${'x'.repeat(MAX_LINE_LENGTH - 10)} ghu_abcdefghijklmnopqrstuvwxyz0123456789`;
  const a = analyseLog(`Error: boom\n${line}\n`);
  t.notMatch(a.excerpt, /ghu_/);
  t.notMatch(a.excerpt, /abcdef/);
});

t.test('a private key spread over lines is redacted as a whole', async (t) => {
  const a = analyseLog(
    [
      'Error: bad key',
      '-----BEGIN RSA PRIVATE KEY-----',
      'MIIEowIBAAKCAQEA3Tz2mr7SZiAMfQ',
      '-----END RSA PRIVATE KEY-----',
      'done',
    ].join('\n'),
  );
  t.equal(a.excerpt, 'Error: bad key\n[REDACTED]\ndone');
});

t.test('the excerpt is capped in lines and bytes', async (t) => {
  const many = ['Error: first', ...Array.from({ length: 500 }, (_, i) => `line ${i}`)].join('\n');
  t.equal(analyseLog(many).excerpt.split('\n').length, MAX_EXCERPT_LINES);
  const wide = [
    'Error: first',
    ...Array.from({ length: 60 }, () => 'é'.repeat(MAX_LINE_LENGTH)),
  ].join('\n');
  const excerpt = analyseLog(wide).excerpt;
  t.ok(Buffer.byteLength(excerpt) <= MAX_EXCERPT_BYTES);
  t.ok(excerpt.startsWith('Error: first'));
  const tail = analyseLog(
    Array.from({ length: 60 }, (_, i) => `${i} ${'é'.repeat(MAX_LINE_LENGTH)}`).join('\n'),
  ).excerpt;
  t.ok(Buffer.byteLength(tail) <= MAX_EXCERPT_BYTES);
  t.ok(tail.split('\n').at(-1)?.startsWith('59 '), 'without an error, the last lines are kept');
});

t.test('references are deduplicated, capped, and start with the first error', async (t) => {
  const lines = [
    'TypeError: x is not a function',
    '##[error]Process completed with exit code 1.',
    ...Array.from({ length: 30 }, (_, i) => `src/f${i}.go:${i + 1}:1: undefined: y`),
    'src/f0.go:1:1: undefined: y',
  ];
  const a = analyseLog(lines.join('\n'));
  t.equal(a.references.length, MAX_REFERENCES);
  t.same(a.references[0], { file: 'src/f0.go', line: 1, column: 1 });
  t.equal(a.firstError, 'TypeError: x is not a function');
  t.equal(a.errorCount, 31, 'the repeated Go error counts once');
});

t.test('a reference named by two errors is listed once', async (t) => {
  const a = analyseLog(
    'a.go:1:1: undefined: x\na.go:1:1: declared and not used: y\nb.go:2:2: undefined: z',
  );
  t.same(a.references, [
    { file: 'a.go', line: 1, column: 1 },
    { file: 'b.go', line: 2, column: 2 },
  ]);
});

t.test('a step that only reports its exit code', async (t) => {
  const printed = analyseLog(
    stamp([
      '##[group]Run ./deploy.sh',
      '##[endgroup]',
      'Health check failed: degraded',
      '',
      '##[error]Process completed with exit code 3.',
    ]),
  );
  t.equal(printed.failureType, 'unknown');
  t.equal(printed.firstError, 'Process completed with exit code 3.');
  t.equal(printed.errorCount, 1);
  t.equal(
    printed.summary,
    'The step "Run ./deploy.sh" failed: the cause was not recognised. No specific error was recognised; the step ended ' +
      'with "Process completed with exit code 3." after printing "Health check failed: degraded".',
  );
  const silent = analyseLog(
    stamp([
      '##[group]Run ./deploy.sh',
      '##[endgroup]',
      '##[error]Process completed with exit code 3.',
    ]),
  );
  t.match(silent.summary, /the step ended with "Process completed with exit code 3\."\.$/);
  const blank = analyseLog('\n\nError: Process completed with exit code 1.');
  t.match(blank.summary, /the step ended with "Error: Process completed with exit code 1\."\.$/);
  const long = analyseLog(`${'z'.repeat(500)}\nError: Process completed with exit code 1.`);
  t.match(long.summary, /after printing "z{199}…"\.$/);
});

t.test(
  'a compiler killed for lack of memory is infrastructure, the kill its first error',
  async (t) => {
    const command = `/home/runner/.rustup/toolchains/stable/bin/rustc --crate-name app ${'-C opt-level=3 '.repeat(40)}`;
    const a = analyseLog(
      stamp([
        '##[group]Run cargo build --release',
        '##[endgroup]',
        '   Compiling app v0.1.0 (/home/runner/work/app/app)',
        'error: could not compile `app` (bin "app")',
        '',
        'Caused by:',
        `  process didn't exit successfully: \`${command}\` (signal: 9, SIGKILL: kill)`,
        '##[error]Process completed with exit code 101.',
      ]),
    );
    t.equal(a.failureType, 'infrastructure');
    t.equal(a.firstError, "process didn't exit successfully: `rustc …` (signal: 9, SIGKILL: kill)");
    t.equal(a.tool, 'cargo');
  },
);

t.test('console output of a passing jest suite is not the first error', async (t) => {
  const a = analyseLog(
    stamp([
      '##[group]Run npx jest',
      '##[endgroup]',
      ' PASS  src/a.test.ts',
      '  ● Console',
      '',
      '    console.error',
      '      Error: request failed',
      '',
      ' FAIL  src/b.test.ts',
      '  ● b › adds',
      '',
      '    expect(received).toBe(expected)',
      '##[error]Process completed with exit code 1.',
    ]),
  );
  t.equal(a.failureType, 'test');
  t.equal(a.firstError, 'b › adds: expect(received).toBe(expected)');
  t.equal(a.errorCount, 1);
});

t.test('infrastructure and configuration summaries say why', async (t) => {
  const a = analyseLog('##[error]The operation was canceled.', { jobName: 'e2e' });
  t.equal(
    a.summary,
    'The job "e2e" failed: an infrastructure problem stopped it (the run was cancelled). The first error, reported by ' +
      'github-actions, is "The operation was canceled.". It is the only error found.',
  );
});

t.test('a reference without a column or line', async (t) => {
  const line = analyseLog('___ test_a ___\nE   assert 1 == 2\n\ntests/test_a.py:5: AssertionError');
  t.match(line.summary, / at tests\/test_a\.py:5\./);
  const file = analyseLog('[warn] src/a.ts\n[warn] Code style issues found in the above file.');
  t.match(file.summary, / at src\/a\.ts\./);
});

t.test('an empty log', async (t) => {
  const a = analyseLog('');
  t.same(a, {
    failureType: 'unknown',
    confidence: 0.2,
    summary:
      'The job failed: the cause was not recognised. No error message was recognised in the log.',
    firstError: null,
    references: [],
    excerpt: '',
    errorCount: 0,
    failedStep: null,
    signals: ['unknown: no error message was recognised'],
  });
});

t.test('a large log is analysed', async (t) => {
  const filler = `${'ok - a passing test with a longish name '.repeat(2)}\n`.repeat(60_000);
  const log = stamp(JEST_JOB.slice(0, 12)) + '\n' + filler + stamp(JEST_JOB.slice(12));
  const a = analyseLog(log);
  t.equal(a.failureType, 'test');
  t.equal(a.firstError, 'sum › adds: expect(received).toBe(expected) // Object.is equality');
});
