// Hold-out measurement of the deterministic log classifier.
//
// test/fixtures/logs-holdout/ holds GitHub Actions job logs written blind (without looking at
// the classifier or at its tuning corpus in test/fixtures/logs/), each with the answer a
// careful human triager would give. This test reports how often analyseLog agrees; it is a
// measurement, not a gate: it passes whatever the accuracy. It does insist that every log is
// analysed without throwing and that no planted credential survives into the analysis.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { analyseLog } from '../../../src/services/analysis/analyse-log.ts';
import {
  FAILURE_TYPES,
  type FailureType,
  type LogAnalysis,
} from '../../../src/services/analysis/types.ts';

const DIR = fileURLToPath(new URL('../../fixtures/logs-holdout/', import.meta.url));

interface Expectation {
  type: FailureType;
  /** A short substring the analysis's first error must contain (whitespace and case are ignored). */
  firstError: string;
  /** The failed steps and job name as the GitHub API would report them, passed as production does. */
  failedSteps?: string[];
  jobName?: string;
}

const expected = JSON.parse(readFileSync(`${DIR}expected.json`, 'utf8')) as Record<
  string,
  Expectation
>;
const logFiles = readdirSync(DIR)
  .filter((f) => f.endsWith('.log'))
  .sort();

// Tokens planted in the hold-out logs; the analysis must never carry them (or any other
// credential-looking string of these kinds) in any field.
const PLANTED_TOKENS = [
  'ghp_Zk4mQ9vT2xR7bN1cW8yH3jL6pD0sF5aE2uK9',
  'sk-ant-api03-Xq7vB2mN9pL4kR8tW1yZ5cF3hJ6dG0sA2eU9iO4pQ7wE1rT5yU8iO3pA6sD9fG2hJ5kL8zX1cV4bN7mQ0wE3rT-aBcDeF12',
];
const TOKEN_PATTERN = /\b(?:ghp|ghu)_[A-Za-z0-9]{8,}|sk-ant-[A-Za-z0-9_-]{8,}/;

const normalise = (s: string): string => s.replace(/\s+/g, ' ').trim().toLowerCase();

/** Every string anywhere in the analysis, so a leak in any field (or nested field) is seen. */
function allStrings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(allStrings);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(allStrings);
  return [];
}

t.test('the hold-out set is complete and well formed', async (t) => {
  t.equal(logFiles.length, 30, 'thirty hold-out logs');
  t.same(Object.keys(expected).sort(), logFiles, 'expected.json names exactly the hold-out logs');
  for (const [file, e] of Object.entries(expected)) {
    t.ok(FAILURE_TYPES.includes(e.type), `${file}: expected type is a FailureType`);
    t.ok(e.firstError.trim().length > 0, `${file}: expected first error is not empty`);
  }
  const withTokens = logFiles.filter((f) => {
    const text = readFileSync(`${DIR}${f}`, 'utf8');
    return PLANTED_TOKENS.some((token) => text.includes(token));
  });
  t.ok(
    withTokens.length >= 2,
    `tokens are planted in at least two logs (${withTokens.join(', ')})`,
  );
});

t.test('hold-out accuracy', async (t) => {
  let typeHits = 0;
  let firstErrorHits = 0;
  const misses: string[] = [];

  for (const file of logFiles) {
    const e = expected[file];
    if (!e) continue; // reported by the completeness test above
    const log = readFileSync(`${DIR}${file}`, 'utf8');

    let analysis: LogAnalysis | undefined;
    t.doesNotThrow(() => {
      analysis = analyseLog(log, { failedSteps: e.failedSteps, jobName: e.jobName });
    }, `${file}: analysed without throwing`);
    if (!analysis) continue;

    const strings = allStrings(analysis);
    const leaked = strings.filter(
      (s) => TOKEN_PATTERN.test(s) || PLANTED_TOKENS.some((token) => s.includes(token)),
    );
    t.same(leaked, [], `${file}: no unredacted ghp_/ghu_/sk-ant- token in the analysis`);

    const typeOk = analysis.failureType === e.type;
    const firstErrorOk =
      analysis.firstError !== null &&
      normalise(analysis.firstError).includes(normalise(e.firstError));
    if (typeOk) typeHits++;
    if (firstErrorOk) firstErrorHits++;
    if (!typeOk) {
      misses.push(`miss ${file}: type expected ${e.type}, got ${analysis.failureType}`);
    }
    if (!firstErrorOk) {
      misses.push(
        `miss ${file}: first error expected to contain ${JSON.stringify(e.firstError)}, ` +
          `got ${JSON.stringify(analysis.firstError)}`,
      );
    }
  }

  const n = logFiles.length;
  const pct = (k: number): string => (n === 0 ? '0' : ((100 * k) / n).toFixed(0));
  t.comment(
    `# hold-out accuracy: type ${typeHits}/${n} (${pct(typeHits)}%), ` +
      `first error ${firstErrorHits}/${n} (${pct(firstErrorHits)}%)`,
  );
  for (const miss of misses) t.comment(miss);
});
