// Everything the API and the incident page show about one incident, owner-scoped: the
// incident with its analysis, the repository, the latest occurrences and timeline (first
// pages; both lists have their own paginated endpoints), the failed jobs of the latest
// failing run with links, and each failed job's flake rate over FLAKE_WINDOW_DAYS.
import type { Db } from '../../db/client.ts';
import {
  createIncidentsStore,
  type Cursor,
  type Incident,
  type IncidentEvent,
  type OccurrenceWithRun,
  type RepositoryConnection,
  type WorkflowJob,
} from '../../db/stores/incidents-store.ts';
import { errors } from '../../errors.ts';

export const FLAKE_WINDOW_DAYS = 30;
const DAY = 24 * 3600 * 1000;

export interface FlakeRate {
  job: string;
  /** Commits on which the job ran inside the window. */
  commits: number;
  /** Of those, commits on which it failed first and passed later. */
  flakyCommits: number;
  /** flakyCommits / commits, 0 when the job did not run. */
  rate: number;
  windowDays: number;
}

export interface IncidentDetails {
  incident: Incident;
  connection: RepositoryConnection;
  occurrences: { items: OccurrenceWithRun[]; next: Cursor | null };
  occurrencesTotal: number;
  events: { items: IncidentEvent[]; next: Cursor | null };
  failedJobs: WorkflowJob[];
  flakeRates: FlakeRate[];
}

export async function flakeRatesFor(
  db: Db,
  incident: Pick<Incident, 'connectionId' | 'workflowId' | 'failedJobs'>,
  now: Date = new Date(),
): Promise<FlakeRate[]> {
  const counts = await createIncidentsStore(db).flakeCounts({
    connectionId: incident.connectionId,
    workflowId: incident.workflowId,
    jobNames: incident.failedJobs,
    since: new Date(now.getTime() - FLAKE_WINDOW_DAYS * DAY),
  });
  return incident.failedJobs.map((job) => {
    const c = counts.get(job) ?? { commits: 0, flaky: 0 };
    return {
      job,
      commits: c.commits,
      flakyCommits: c.flaky,
      rate: c.commits === 0 ? 0 : c.flaky / c.commits,
      windowDays: FLAKE_WINDOW_DAYS,
    };
  });
}

export async function incidentDetails(
  db: Db,
  userId: string,
  incidentId: string,
  opts: { occurrences?: number; events?: number; now?: Date } = {},
): Promise<IncidentDetails> {
  const store = createIncidentsStore(db);
  const found = await store.getForUser(userId, incidentId);
  if (!found) throw new errors.NOT_FOUND('Incident');
  const { incident, connection } = found;
  const [occurrences, occurrencesTotal, events, latest, flakeRates] = await Promise.all([
    store.listOccurrences(incident.id, { limit: opts.occurrences ?? 20 }),
    store.countOccurrences(incident.id),
    store.listEvents(incident.id, { limit: opts.events ?? 100 }),
    store.latestOccurrence(incident.id),
    flakeRatesFor(db, incident, opts.now),
  ]);
  const failedJobs = latest
    ? (await store.jobsOfRunAttempt(latest.runId, latest.runAttempt)).filter((j) =>
        ['failure', 'timed_out'].includes(j.conclusion ?? ''),
      )
    : [];
  return {
    incident,
    connection,
    occurrences,
    occurrencesTotal,
    events,
    failedJobs,
    flakeRates,
  };
}
