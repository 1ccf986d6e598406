// Job logs as GitHub serves them (timestamps, step groups, ##[error] trailers), for the
// analysis tests. The corpus under test/fixtures/logs/ covers the tools; these cover the
// plumbing: one test failure, one lint failure, one lost runner.

const ts = (s: number) => `2024-05-01T10:00:${String(s).padStart(2, '0')}.1234567Z`;

function log(lines: string[]): string {
  return lines.map((line, i) => `${ts(Math.min(59, i))} ${line}`).join('\n') + '\n';
}

const PREAMBLE = [
  "Current runner version: '2.316.0'",
  '##[group]Operating System',
  'Ubuntu',
  '22.04.4',
  'LTS',
  '##[endgroup]',
  '##[group]Run actions/checkout@v4',
  'with:',
  '  repository: octocat/app',
  '##[endgroup]',
  'Syncing repository: octocat/app',
];

export const JEST_LOG = log([
  ...PREAMBLE,
  '##[group]Run npm test',
  'npm test',
  'shell: /usr/bin/bash -e {0}',
  '##[endgroup]',
  '',
  '> app@1.0.0 test',
  '> jest',
  '',
  'FAIL src/sum.test.ts',
  '  ● sum › adds numbers',
  '',
  '    expect(received).toBe(expected) // Object.is equality',
  '',
  '    Expected: 3',
  '    Received: 4',
  '',
  "      3 | test('adds numbers', () => {",
  '    > 4 |   expect(sum(1, 2)).toBe(3);',
  '        |                     ^',
  '      5 | });',
  '',
  '      at Object.<anonymous> (src/sum.test.ts:4:21)',
  '',
  'Tests:       1 failed, 3 passed, 4 total',
  'NPM_TOKEN=npm_abcdefghijklmnopqrstuvwxyz0123456789',
  '##[error]Process completed with exit code 1.',
  'Post job cleanup.',
  'Cleaning up orphan processes',
]);

export const ESLINT_LOG = log([
  ...PREAMBLE,
  '##[group]Run npm run lint',
  'npm run lint',
  '##[endgroup]',
  '',
  '/home/runner/work/app/app/src/index.ts',
  "  12:7  error  'unused' is assigned a value but never used  @typescript-eslint/no-unused-vars",
  '',
  '✖ 1 problem (1 error, 0 warnings)',
  '',
  '##[error]Process completed with exit code 1.',
]);

export const RUNNER_LOST_LOG = log([
  ...PREAMBLE,
  '##[group]Run npm test',
  'npm test',
  '##[endgroup]',
  'PASS src/a.test.ts',
  '##[error]The runner has received a shutdown signal. This can happen when the runner service is stopped, or a manually started runner is canceled.',
  '##[error]The operation was canceled.',
]);
