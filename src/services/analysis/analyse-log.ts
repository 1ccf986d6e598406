// Turns a failed job's log into the analysis stored on an incident and handed to the fix
// generator: failure type, a one-paragraph summary, the first error, source references and
// an excerpt. Deterministic: no LLM, no I/O. Everything it returns has been scrubbed.

import { classifyFailure } from './classify-failure.ts';
import { extractErrors } from './extract-errors.ts';
import { cutFailingStep } from './parse-log.ts';
import { scrubSecrets } from './scrub-secrets.ts';
import type { ErrorBlock, ErrorReference, FailureType, LogAnalysis } from './types.ts';

export interface AnalyseLogOptions {
  /** Names of the failed steps as the GitHub API reports them, to pick the step to read. */
  failedSteps?: readonly string[];
  jobName?: string;
}

export const MAX_REFERENCES = 20;
export const MAX_EXCERPT_LINES = 80;
export const MAX_EXCERPT_BYTES = 8 * 1024;
const CONTEXT_BEFORE = 5;
const TAIL_LINES = 40;
const LAST_OUTPUT_LOOKBACK = 50;

const OUTCOME: Readonly<Record<FailureType, string>> = {
  test: 'tests failed',
  build: 'the build failed',
  lint: 'lint or formatting checks failed',
  dependency: 'dependencies could not be resolved or installed',
  configuration: 'the workflow is misconfigured',
  infrastructure: 'an infrastructure problem stopped it',
  unknown: 'the cause was not recognised',
};

export function analyseLog(log: string, opts: AnalyseLogOptions = {}): LogAnalysis {
  const step = cutFailingStep(log, opts.failedSteps);
  // Scrub before anything reads the lines: messages are shortened later, and half a token
  // may no longer look like one.
  const lines = step.lines.length > 0 ? scrubSecrets(step.lines.join('\n')).split('\n') : [];
  const blocks = extractErrors(lines);
  const classification = classifyFailure({
    blocks,
    lines,
    stepName: step.name,
    ...(opts.jobName === undefined ? {} : { jobName: opts.jobName }),
  });
  const primary = blocks.find((b) => !b.generic) ?? blocks[0];
  const specific = blocks.filter((b) => !b.generic).length;
  const errorCount = specific > 0 ? specific : blocks.length;
  const references = collectReferences(blocks, primary);

  const summary = describe({
    failureType: classification.failureType,
    reason: classification.reason,
    step: step.name,
    job: opts.jobName,
    first: primary,
    reference: primary?.references[0],
    errorCount,
    lastOutput: primary?.generic ? lastOutputBefore(lines, primary.startLine) : undefined,
  });
  const analysis: LogAnalysis = {
    failureType: classification.failureType,
    confidence: classification.confidence,
    summary: scrubSecrets(summary),
    firstError: primary ? scrubSecrets(primary.message) : null,
    references: references.map((r) => ({ ...r, file: scrubSecrets(r.file) })),
    excerpt: scrubSecrets(excerptOf(lines, primary)),
    errorCount,
    failedStep: step.name === null ? null : scrubSecrets(step.name),
    signals: classification.signals.map(scrubSecrets),
  };
  if (primary?.tool !== undefined) analysis.tool = primary.tool;
  return analysis;
}

function collectReferences(
  blocks: readonly ErrorBlock[],
  primary: ErrorBlock | undefined,
): ErrorReference[] {
  const ordered = primary ? [primary, ...blocks.filter((b) => b !== primary)] : blocks;
  const seen = new Set<string>();
  const out: ErrorReference[] = [];
  for (const ref of ordered.flatMap((b) => b.references)) {
    const key = `${ref.file}:${ref.line ?? ''}:${ref.column ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(ref);
    if (out.length === MAX_REFERENCES) break;
  }
  return out;
}

// One window from a little before the first error onwards: errors cluster, so this usually
// shows the following ones and the trailer too. Without errors, the end of the step.
function excerptOf(lines: readonly string[], primary: ErrorBlock | undefined): string {
  const fromEnd = primary === undefined;
  const start = fromEnd
    ? Math.max(0, lines.length - TAIL_LINES)
    : Math.max(0, primary.startLine - CONTEXT_BEFORE);
  const window = lines.slice(start, start + MAX_EXCERPT_LINES);
  const kept: string[] = [];
  let bytes = 0;
  // From the end when showing a tail, so the last lines (the failure) survive the byte cap.
  const order = fromEnd ? [...window].reverse() : window;
  for (const line of order) {
    const size = Buffer.byteLength(line, 'utf8') + 1;
    if (bytes + size > MAX_EXCERPT_BYTES) break;
    bytes += size;
    kept.push(line);
  }
  return (fromEnd ? kept.reverse() : kept).join('\n');
}

interface Description {
  failureType: FailureType;
  reason: string;
  step: string | null;
  job: string | undefined;
  first: ErrorBlock | undefined;
  reference: ErrorReference | undefined;
  errorCount: number;
  /** For a step that only reported its exit code: the last thing it printed. */
  lastOutput: string | undefined;
}

function describe(d: Description): string {
  const where = d.step === null ? 'The job' : `The step "${d.step}"`;
  const job = d.job === undefined ? '' : d.step === null ? ` "${d.job}"` : ` in job "${d.job}"`;
  const because = ['test', 'build', 'lint', 'unknown'].includes(d.failureType)
    ? ''
    : ` (${d.reason})`;
  let text = `${where}${job} failed: ${OUTCOME[d.failureType]}${because}.`;
  if (d.first?.generic) {
    text += ` No specific error was recognised; the step ended with "${d.first.message}"`;
    text += d.lastOutput === undefined ? '.' : ` after printing "${d.lastOutput}".`;
  } else if (d.first) {
    const by = d.first.tool === undefined ? '' : `, reported by ${d.first.tool},`;
    const at = d.reference ? ` at ${locationText(d.reference)}` : '';
    text += ` The first error${by} is "${d.first.message}"${at}.`;
    text +=
      d.errorCount === 1
        ? ' It is the only error found.'
        : ` ${d.errorCount} errors were found in all.`;
  } else {
    text += ' No error message was recognised in the log.';
  }
  return text;
}

// Walks back over the step's own output, not far: "##[…]" lines belong to the step header
// or the runner, and output far above the trailer is not what the step ended on.
function lastOutputBefore(lines: readonly string[], index: number): string | undefined {
  for (const raw of lines.slice(Math.max(0, index - LAST_OUTPUT_LOOKBACK), index).reverse()) {
    const line = raw.trim();
    if (line.startsWith('##[')) return undefined;
    if (line !== '') return line.length > 200 ? `${line.slice(0, 199)}…` : line;
  }
  return undefined;
}

function locationText(ref: ErrorReference): string {
  if (ref.line === undefined) return ref.file;
  return ref.column === undefined
    ? `${ref.file}:${ref.line}`
    : `${ref.file}:${ref.line}:${ref.column}`;
}
