// Queue job ids for incident analysis. Derived from the incident and its occurrence count,
// so a new failure is analysed again while a redelivered webhook maps to the same id.
// BullMQ forbids ':' in custom ids, hence the dashes.
import { randomBytes } from 'node:crypto';

export function analyseJobKey(incidentId: string, occurrences: number): string {
  return `analyse-${incidentId}-${occurrences}`;
}

/** The failed jobs became known after the run: analyse again, once per job set. */
export function reanalyseJobsKey(incidentId: string, fingerprint: string): string {
  return `analyse-${incidentId}-jobs-${fingerprint.slice(0, 12)}`;
}

/** Someone asked for a fresh analysis: always a new id. */
export function manualAnalyseJobKey(incidentId: string, now: Date = new Date()): string {
  return `analyse-${incidentId}-manual-${now.getTime()}-${randomBytes(3).toString('hex')}`;
}
