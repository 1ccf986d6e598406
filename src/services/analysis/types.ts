// Shapes shared by the deterministic failure analysis: what a failure is classified as,
// the error blocks found in a log, and the analysis handed to incidents and to the LLM.

export type FailureType =
  'test' | 'build' | 'lint' | 'dependency' | 'configuration' | 'infrastructure' | 'unknown';

export const FAILURE_TYPES: readonly FailureType[] = [
  'test',
  'build',
  'lint',
  'dependency',
  'configuration',
  'infrastructure',
  'unknown',
];

/** A source location named by an error; paths are relative to the repository when the log allows it. */
export interface ErrorReference {
  file: string;
  line?: number;
  column?: number;
}

export interface ErrorBlock {
  /** One line saying what went wrong, e.g. "sum › adds numbers: expect(received).toBe(expected)". */
  message: string;
  /** The lines of the log that make up this error (capped). */
  lines: string[];
  /** 0-based index of the block's first line in the lines given to extractErrors. */
  startLine: number;
  /** The tool whose output format was recognised ("jest", "tsc", "npm", …). */
  tool?: string;
  references: ErrorReference[];
  /**
   * True for trailers that only say that a command failed ("Process completed with exit
   * code 1", "make: *** Error 2"): they are never the first error when something more
   * specific exists.
   */
  generic: boolean;
}

export interface Classification {
  failureType: FailureType;
  /** 0..1: how sure the rules are (a named runner/tool signal is high, a step name alone is low). */
  confidence: number;
  /** The decisive signal in a few words ("the job hit its time limit"). */
  reason: string;
  /** The signals that decided, each with the log line that showed it, most decisive first. */
  signals: string[];
}

export interface LogAnalysis {
  failureType: FailureType;
  confidence: number;
  /** One paragraph: what failed, in which step, the first error and how many errors. */
  summary: string;
  firstError: string | null;
  /** Deduplicated, at most MAX_REFERENCES, the first error's own references first. */
  references: ErrorReference[];
  /** The error region with some context, at most 80 lines and 8 KB. */
  excerpt: string;
  errorCount: number;
  tool?: string;
  /** The step the analysis looked at, as GitHub titles it ("Run npm test"), if the log has steps. */
  failedStep: string | null;
  signals: string[];
}
