// Severity from simple rules, recomputed whenever an incident changes:
//   - a failure on the repository's default branch starts at high, elsewhere at medium;
//   - the 3rd occurrence raises it one level, the 10th one more (capped at critical);
//   - a flaky incident (its failed jobs passed on a re-run of the same commit) drops one level.

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const REPEAT_THRESHOLDS = [3, 10] as const;

export function severityFor(input: {
  onDefaultBranch: boolean;
  occurrences: number;
  flaky: boolean;
}): Severity {
  let level = input.onDefaultBranch ? 2 : 1;
  for (const threshold of REPEAT_THRESHOLDS) if (input.occurrences >= threshold) level += 1;
  if (input.flaky) level -= 1;
  return SEVERITIES[Math.max(0, Math.min(SEVERITIES.length - 1, level))]!;
}
