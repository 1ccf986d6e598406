// Runs the analysis over every log in test/fixtures/logs and measures how often the failure
// type and the first error match what a person reading the log would say (expected.json).
import { readFileSync, readdirSync } from 'node:fs';
import t from 'tap';
import {
  MAX_EXCERPT_BYTES,
  MAX_EXCERPT_LINES,
  MAX_REFERENCES,
  analyseLog,
} from '../../../src/services/analysis/analyse-log.ts';
import { FAILURE_TYPES } from '../../../src/services/analysis/types.ts';
import type { FailureType } from '../../../src/services/analysis/types.ts';

interface Expectation {
  type: FailureType;
  /** A substring the first error must contain. */
  firstError: string;
}

const DIR = new URL('../../fixtures/logs/', import.meta.url);
const expected = JSON.parse(readFileSync(new URL('expected.json', DIR), 'utf8')) as Record<
  string,
  Expectation
>;
const logs = readdirSync(DIR).filter((name) => name.endsWith('.log'));
const MIN_ACCURACY = 0.9;
// Prefixes that must never leave the analysis (security.md), plus the corpus's own leaked values.
const SECRETS = /ghp_|gho_|ghu_|ghs_|ghr_|github_pat_|sk-ant-|sk-or-|ffx_|AKIA|xox[abposr]-/;

t.test('every log has an expectation and every expectation a log', async (t) => {
  t.same(Object.keys(expected).sort(), [...logs].sort());
  t.ok(logs.length >= 44, `${logs.length} logs`);
  for (const [name, e] of Object.entries(expected)) {
    t.ok(FAILURE_TYPES.includes(e.type), `${name}: known type ${e.type}`);
    t.ok(e.firstError.length > 0, `${name}: names its first error`);
  }
});

t.test('the classifier is accurate on the corpus', async (t) => {
  let typeHits = 0;
  let firstErrorHits = 0;
  for (const name of logs) {
    const want = expected[name];
    if (!want) continue;
    const analysis = analyseLog(readFileSync(new URL(name, DIR), 'utf8'));
    const typeOk = analysis.failureType === want.type;
    const firstOk = analysis.firstError?.includes(want.firstError) ?? false;
    if (typeOk) typeHits++;
    if (firstOk) firstErrorHits++;
    if (!typeOk || !firstOk) {
      t.comment(
        `${name}: got ${analysis.failureType} / ${JSON.stringify(analysis.firstError)}, ` +
          `want ${want.type} / ${JSON.stringify(want.firstError)}`,
      );
    }

    t.notMatch(
      JSON.stringify(analysis),
      SECRETS,
      `${name}: nothing secret-looking in the analysis`,
    );
    t.ok(analysis.excerpt.split('\n').length <= MAX_EXCERPT_LINES, `${name}: excerpt lines`);
    t.ok(Buffer.byteLength(analysis.excerpt) <= MAX_EXCERPT_BYTES, `${name}: excerpt bytes`);
    t.ok(analysis.references.length <= MAX_REFERENCES, `${name}: references`);
    t.ok(
      analysis.summary.length > 0 && !analysis.summary.includes('\n'),
      `${name}: one-paragraph summary`,
    );
  }
  const total = logs.length;
  const pct = (n: number) => Math.round((n / total) * 1000) / 10;
  t.comment(
    `classifier accuracy: type ${typeHits}/${total} (${pct(typeHits)}%), ` +
      `first error ${firstErrorHits}/${total} (${pct(firstErrorHits)}%)`,
  );
  t.ok(typeHits / total >= MIN_ACCURACY, 'failure type accuracy is at least 90%');
  t.ok(firstErrorHits / total >= MIN_ACCURACY, 'first error accuracy is at least 90%');
});

t.test('instructions inside a log do not steer the analysis', async (t) => {
  const analysis = analyseLog(readFileSync(new URL('test-jest-prompt-injection.log', DIR), 'utf8'));
  t.equal(analysis.failureType, 'test');
  t.notMatch(analysis.firstError, /ignore previous instructions/i);
  t.notMatch(analysis.summary, /ignore previous instructions/i);
});

t.test('the leaked tokens in the corpus are really there, and really removed', async (t) => {
  for (const name of ['test-jest-leaked-token.log', 'config-push-denied.log']) {
    const log = readFileSync(new URL(name, DIR), 'utf8');
    t.match(log, /ghp_[A-Za-z0-9]{36}/, `${name} leaks a token`);
    t.notMatch(JSON.stringify(analyseLog(log)), /ghp_/, `${name} analysis is scrubbed`);
  }
});
