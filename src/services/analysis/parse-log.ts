// Reads a GitHub Actions job log into steps and cuts out the step that failed.
//
// A job log is the concatenation of its steps' logs: a preamble ("Set up job"), then one
// "##[group]Run <command or action>" header per step followed by the step's output, then
// "Post job cleanup." sections and "Cleaning up orphan processes" (Complete job). Logs can
// be tens of megabytes of attacker-controlled text, so the log is walked line by line with
// indexOf, each line is capped, and only the steps that can still be chosen are kept.

export interface LogStep {
  /** GitHub's title for the step ("Run npm test", "Set up job"); null for lines outside any known step. */
  name: string | null;
  /** 1-based line number, in the whole log, of the step's first line. */
  startLine: number;
  /** The step's lines without timestamps, ANSI codes or carriage returns, each capped in length. */
  lines: string[];
  /** Index in lines of the first "##[error]" line, or -1. */
  firstErrorIndex: number;
}

export interface FailingStep extends LogStep {
  /** Why this step was chosen: named by the caller, holds the first ##[error], or the last step run. */
  reason: 'named' | 'first-error' | 'last-step';
}

export const MAX_LINE_LENGTH = 2000;

const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z ?/;
// CSI sequences (colours, cursor moves) and OSC sequences (hyperlinks, titles).
// eslint-disable-next-line no-control-regex -- matching the ESC control character is the point
const ANSI = /\u001b\[[0-9;:?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b/g;
const STEP_GROUP = '##[group]Run ';
const SETUP_STEP = 'Set up job';
const POST_STEP = 'Post job cleanup';
const COMPLETE_STEP = 'Complete job';

export function cleanLine(raw: string): string {
  let line = raw.length > MAX_LINE_LENGTH * 2 ? raw.slice(0, MAX_LINE_LENGTH * 2) : raw;
  if (line.charCodeAt(0) === 0xfeff) line = line.slice(1);
  if (line.endsWith('\r')) line = line.slice(0, -1);
  line = line.replace(TIMESTAMP, '');
  if (line.includes('\u001b')) line = line.replace(ANSI, '');
  return line.length > MAX_LINE_LENGTH ? `${line.slice(0, MAX_LINE_LENGTH)}…` : line;
}

export function parseLog(log: string): LogStep[] {
  return [...readSteps(log)];
}

/**
 * The step to analyse: the first step whose title matches one of failedStepNames (as the
 * GitHub API names steps), else the step holding the first ##[error], else the last step
 * that ran before cleanup.
 */
export function cutFailingStep(log: string, failedStepNames: readonly string[] = []): FailingStep {
  const wanted = failedStepNames.map(normaliseName).filter((name) => name !== '');
  let firstError: LogStep | undefined;
  let lastRun: LogStep | undefined;
  let last: LogStep | undefined;
  for (const step of readSteps(log)) {
    if (wanted.length > 0 && step.name !== null && matchesName(step.name, wanted)) {
      return { ...step, reason: 'named' };
    }
    if (firstError === undefined && step.firstErrorIndex !== -1) {
      // Without names there is nothing left to look for.
      if (wanted.length === 0) return { ...step, reason: 'first-error' };
      firstError = step;
    }
    last = step;
    if (step.name !== POST_STEP && step.name !== COMPLETE_STEP) lastRun = step;
  }
  if (firstError) return { ...firstError, reason: 'first-error' };
  const fallback = lastRun ?? last ?? { name: null, startLine: 1, lines: [], firstErrorIndex: -1 };
  return { ...fallback, reason: 'last-step' };
}

// The API calls a step "Run npm test" for `run: npm test`, but a step with `name: Test`
// is just "Test" while its log group still says "Run npm test"; both spellings are tried.
function matchesName(title: string, wanted: readonly string[]): boolean {
  const name = normaliseName(title);
  const bare = name.startsWith('run ') ? name.slice(4) : name;
  return wanted.some((w) => w === name || w === bare || `run ${w}` === name);
}

function normaliseName(name: string): string {
  return name.trim().replace(/\s+/g, ' ').toLowerCase();
}

function* readSteps(log: string): Generator<LogStep> {
  let step: LogStep | undefined;
  let number = 0;
  for (const line of readLines(log)) {
    number += 1;
    const name = stepStart(line, step === undefined);
    if (name !== undefined || step === undefined) {
      if (step) yield step;
      step = { name: name ?? null, startLine: number, lines: [], firstErrorIndex: -1 };
    }
    if (step.firstErrorIndex === -1 && line.startsWith('##[error]')) {
      step.firstErrorIndex = step.lines.length;
    }
    step.lines.push(line);
  }
  if (step) yield step;
}

// Lines before the first step group are the runner's preamble, which the UI calls "Set up job";
// a log that never opens a group (a pasted or non-Actions log) keeps name null throughout.
function stepStart(line: string, first: boolean): string | undefined {
  if (line.startsWith(STEP_GROUP)) return line.slice('##[group]'.length).trim();
  if (line === 'Post job cleanup.') return POST_STEP;
  if (line === 'Cleaning up orphan processes') return COMPLETE_STEP;
  if (first && isRunnerPreamble(line)) return SETUP_STEP;
  return undefined;
}

function isRunnerPreamble(line: string): boolean {
  return (
    line.startsWith('Current runner version') ||
    line.startsWith('Requested labels:') ||
    line.startsWith('Job defined at:') ||
    line.startsWith('Waiting for a runner') ||
    line.startsWith('Runner name:') ||
    line.startsWith('##[group]Operating System') ||
    line.startsWith('##[group]Runner Image')
  );
}

function* readLines(log: string): Generator<string> {
  let start = 0;
  while (start < log.length) {
    let end = log.indexOf('\n', start);
    if (end === -1) end = log.length;
    yield cleanLine(log.slice(start, Math.min(end, start + MAX_LINE_LENGTH * 2)));
    start = end + 1;
  }
}
