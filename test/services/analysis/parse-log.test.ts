import t from 'tap';
import {
  MAX_LINE_LENGTH,
  cleanLine,
  cutFailingStep,
  parseLog,
} from '../../../src/services/analysis/parse-log.ts';

const ts = (n: number) => `2024-05-14T09:21:${String(n % 60).padStart(2, '0')}.1234567Z `;
const stamp = (lines: string[]) => lines.map((l, i) => ts(i) + l).join('\n') + '\n';

const JOB = [
  "Current runner version: '2.316.1'",
  '##[group]Operating System',
  'Ubuntu',
  '##[endgroup]',
  '##[group]Run actions/checkout@v4',
  'with:',
  '  repository: acme/web',
  '##[endgroup]',
  'Syncing repository: acme/web',
  '##[group]Run npm ci',
  'npm ci',
  'shell: /usr/bin/bash -e {0}',
  '##[endgroup]',
  'added 612 packages',
  '##[group]Run npm test',
  '\u001b[36;1mnpm test\u001b[0m',
  'shell: /usr/bin/bash -e {0}',
  '##[endgroup]',
  '##[group]Installed versions',
  'nested group',
  '##[endgroup]',
  '  ● sum › adds',
  '##[error]Process completed with exit code 1.',
  'Post job cleanup.',
  '[command]/usr/bin/git version',
  '##[error]a later error in cleanup',
  'Cleaning up orphan processes',
];

t.test('cleanLine strips timestamps, ANSI codes, BOMs and carriage returns', async (t) => {
  t.equal(cleanLine('2024-01-01T12:00:00.1234567Z hello'), 'hello');
  t.equal(cleanLine('2024-01-01T12:00:00Z hello'), 'hello');
  t.equal(cleanLine('\ufeff2024-01-01T12:00:00.1Z hello\r'), 'hello');
  t.equal(cleanLine('\u001b[31;1mred\u001b[0m and \u001b[?25lplain'), 'red and plain');
  t.equal(
    cleanLine('link \u001b]8;;https://x.test\u0007text\u001b]8;;\u0007 end'),
    'link text end',
  );
  t.equal(cleanLine('stray \u001b escape'), 'stray  escape');
  t.equal(
    cleanLine('not a timestamp 2024-01-01T12:00:00Z'),
    'not a timestamp 2024-01-01T12:00:00Z',
  );
});

t.test('cleanLine caps long lines', async (t) => {
  const long = cleanLine('x'.repeat(MAX_LINE_LENGTH * 3));
  t.equal(long.length, MAX_LINE_LENGTH + 1);
  t.ok(long.endsWith('…'));
  t.equal(cleanLine('y'.repeat(MAX_LINE_LENGTH)), 'y'.repeat(MAX_LINE_LENGTH));
});

t.test('parseLog splits a job log into its steps', async (t) => {
  const steps = parseLog('\ufeff' + stamp(JOB));
  t.same(
    steps.map((s) => s.name),
    [
      'Set up job',
      'Run actions/checkout@v4',
      'Run npm ci',
      'Run npm test',
      'Post job cleanup',
      'Complete job',
    ],
  );
  const test = steps[3];
  t.equal(test?.startLine, 15);
  t.equal(test?.lines[0], '##[group]Run npm test');
  t.equal(test?.lines[1], 'npm test', 'ANSI codes are gone');
  t.ok(test?.lines.includes('nested group'), 'groups inside a step stay in the step');
  t.equal(test?.firstErrorIndex, 8);
  t.equal(steps[0]?.firstErrorIndex, -1);
});

t.test('parseLog handles logs without steps, CRLF and a missing final newline', async (t) => {
  const steps = parseLog('line one\r\nline two\r\n##[error]boom');
  t.equal(steps.length, 1);
  t.equal(steps[0]?.name, null);
  t.same(steps[0]?.lines, ['line one', 'line two', '##[error]boom']);
  t.equal(steps[0]?.firstErrorIndex, 2);
  t.same(parseLog(''), []);
});

t.test('parseLog names the preamble only when it looks like the runner preamble', async (t) => {
  const steps = parseLog('some output\n##[group]Run make\nmake\n');
  t.same(
    steps.map((s) => s.name),
    [null, 'Run make'],
  );
  t.equal(parseLog('Requested labels: ubuntu-latest\n')[0]?.name, 'Set up job');
});

t.test('cutFailingStep picks the step with the first ##[error]', async (t) => {
  const step = cutFailingStep(stamp(JOB));
  t.equal(step.name, 'Run npm test');
  t.equal(step.reason, 'first-error');
});

t.test('cutFailingStep prefers a step named by the caller', async (t) => {
  t.equal(cutFailingStep(stamp(JOB), ['Run npm ci']).name, 'Run npm ci');
  t.equal(cutFailingStep(stamp(JOB), ['run  NPM ci ']).reason, 'named');
  t.equal(cutFailingStep(stamp(JOB), ['npm ci']).name, 'Run npm ci', '"Run " is optional');
  t.equal(
    cutFailingStep(stamp(JOB), ['Run npm ci']).lines.at(-1),
    'added 612 packages',
    'the named step ends where the next one starts',
  );
});

t.test('cutFailingStep falls back to the first ##[error] when no name matches', async (t) => {
  const step = cutFailingStep(stamp(JOB), ['Test', '']);
  t.equal(step.name, 'Run npm test');
  t.equal(step.reason, 'first-error');
});

t.test('cutFailingStep falls back to the last step that ran', async (t) => {
  const noErrors = JOB.filter((l) => !l.startsWith('##[error]'));
  const step = cutFailingStep(stamp(noErrors));
  t.equal(step.name, 'Run npm test');
  t.equal(step.reason, 'last-step');
  const onlyCleanup = cutFailingStep('Post job cleanup.\nCleaning up orphan processes\n');
  t.equal(onlyCleanup.name, 'Complete job', 'with only cleanup steps, the last one');
});

t.test('cutFailingStep returns an empty step for an empty log', async (t) => {
  const step = cutFailingStep('');
  t.same(step, { name: null, startLine: 1, lines: [], firstErrorIndex: -1, reason: 'last-step' });
});

t.test('cutFailingStep works line by line on a large log', async (t) => {
  const filler = `${ts(1)}${'ok '.repeat(30)}\n`.repeat(200_000);
  const log = stamp(JOB.slice(0, 18)) + filler + stamp(JOB.slice(18));
  const step = cutFailingStep(log);
  t.equal(step.name, 'Run npm test');
  t.equal(step.lines.length, 200_000 + 4 + 5);
});

t.test('a single enormous line is capped, not kept whole', async (t) => {
  const steps = parseLog('x'.repeat(10_000_000));
  t.equal(steps[0]?.lines[0]?.length, MAX_LINE_LENGTH + 1);
});
