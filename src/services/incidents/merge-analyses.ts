// One incident, several failed jobs: each job's log is analysed on its own, then merged.
// The first failed job whose log names an error leads (its type, first error and excerpt
// are the incident's); the others are summed up in a sentence and their references
// follow the leader's. When no log could be read, the run's own conclusion says what it can.
import { MAX_REFERENCES } from '../analysis/analyse-log.ts';
import { scrubSecrets } from '../analysis/scrub-secrets.ts';
import type { ErrorReference, FailureType, LogAnalysis } from '../analysis/types.ts';

export interface JobAnalysis {
  jobName: string;
  githubJobId: number;
  analysis: LogAnalysis | null;
  /** Why there is no analysis (the log was not available). */
  unavailable?: string;
  /** The log was longer than the download cap; only its end was read. */
  truncated?: boolean;
}

export interface IncidentAnalysis {
  failureType: FailureType;
  summary: string;
  firstError: string | null;
  references: ErrorReference[];
  logExcerpt: string | null;
  /** The job whose analysis leads, if any log was read. */
  leadJob: string | null;
  /** The lead job's GitHub id, for links. */
  leadGithubJobId: number | null;
}

const MAX_SUMMARY = 2000;
const MAX_OTHERS_LISTED = 3;

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function mergeAnalyses(jobs: readonly JobAnalysis[]): IncidentAnalysis | null {
  const analysed = jobs.filter((j): j is JobAnalysis & { analysis: LogAnalysis } => !!j.analysis);
  const lead = analysed.find((j) => j.analysis.firstError !== null) ?? analysed[0];
  if (!lead) return null;

  const references: ErrorReference[] = [];
  const seen = new Set<string>();
  for (const job of [lead, ...analysed.filter((j) => j !== lead)]) {
    for (const ref of job.analysis.references) {
      const key = `${ref.file}:${ref.line ?? ''}:${ref.column ?? ''}`;
      if (seen.has(key) || references.length >= MAX_REFERENCES) continue;
      seen.add(key);
      references.push(ref);
    }
  }

  let summary = lead.analysis.summary;
  if (lead.truncated) summary += ' Only the end of the log was read (it exceeded the size cap).';
  const others = jobs.filter((j) => j !== lead);
  if (others.length > 0) {
    const described = others.slice(0, MAX_OTHERS_LISTED).map((j) => {
      if (!j.analysis) return `"${j.jobName}" (log not available)`;
      const first = j.analysis.firstError ? `: ${clip(j.analysis.firstError, 160)}` : '';
      return `"${j.jobName}" (${j.analysis.failureType}${first})`;
    });
    const more =
      others.length > MAX_OTHERS_LISTED ? ` and ${others.length - MAX_OTHERS_LISTED} more` : '';
    summary += ` ${others.length === 1 ? 'Another job also failed' : `${others.length} other jobs also failed`}: ${described.join('; ')}${more}.`;
  }

  return {
    failureType: lead.analysis.failureType,
    summary: clip(scrubSecrets(summary), MAX_SUMMARY),
    firstError: lead.analysis.firstError,
    references,
    logExcerpt: lead.analysis.excerpt === '' ? null : lead.analysis.excerpt,
    leadJob: lead.jobName,
    leadGithubJobId: lead.githubJobId,
  };
}

/** What a run's conclusion alone says when no job log could be read. */
export function analysisWithoutLogs(input: {
  conclusion: string | null;
  failedJobs: readonly string[];
  unavailable: readonly string[];
}): IncidentAnalysis {
  if (input.conclusion === 'startup_failure') {
    return {
      failureType: 'configuration',
      summary:
        'The run failed to start (startup_failure): GitHub rejected the workflow before any job ran. This usually means an invalid workflow file, an action or reusable workflow that cannot be found or is not allowed, or a missing permission.',
      firstError: null,
      references: [],
      logExcerpt: null,
      leadJob: null,
      leadGithubJobId: null,
    };
  }
  if (input.conclusion === 'timed_out') {
    return {
      failureType: 'infrastructure',
      summary:
        'The run timed out (timed_out): a job exceeded its time limit. No job log could be read to say where it stopped.',
      firstError: null,
      references: [],
      logExcerpt: null,
      leadJob: null,
      leadGithubJobId: null,
    };
  }
  const jobs =
    input.failedJobs.length === 0
      ? 'No failed job was reported for this run'
      : `The logs of the failed job${input.failedJobs.length === 1 ? '' : 's'} (${input.failedJobs.map((j) => `"${j}"`).join(', ')}) could not be read`;
  const why = input.unavailable[0] ? ` (${input.unavailable[0]})` : '';
  return {
    failureType: 'unknown',
    summary: scrubSecrets(`${jobs}${why}, so the cause could not be determined.`),
    firstError: null,
    references: [],
    logExcerpt: null,
    leadJob: null,
    leadGithubJobId: null,
  };
}
