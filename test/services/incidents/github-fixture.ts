// A fake GitHub with one user and repository, a real Octokit pointed at it, and a helper
// that creates a failing run on the fake and records the same run in the database through
// the incident hook, as a webhook delivery would.
import { Octokit } from '@octokit/rest';
import { eq } from 'drizzle-orm';
import type { Db } from '../../../src/db/client.ts';
import { incidents, outbox } from '../../../src/db/schema/index.ts';
import type { Incident, RepositoryConnection } from '../../../src/db/stores/incidents-store.ts';
import { createIncidentHook } from '../../../src/services/incidents/on-run-recorded.ts';
import { startFakeGitHub, type FakeGitHub } from '../../support/fake-github.ts';
import { knownSecrets } from '../../helper.ts';
import { deliver, recordRun, seedConnection } from './seed.ts';

type Tap = { teardown(fn: () => unknown): void };

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

export interface GitHubFixture {
  fake: FakeGitHub;
  repoId: number;
  accessToken: string;
  github: { forUser(userId: string): Promise<Octokit> };
  octokit(): Octokit;
}

export async function githubFixture(t: Tap): Promise<GitHubFixture> {
  const fake = await startFakeGitHub({ pingOnHookCreate: false });
  t.teardown(() => fake.close());
  fake.addUser({ login: 'octocat' });
  const repo = fake.addRepo('octocat', { name: 'app', private: true });
  const { accessToken } = fake.issueToken('octocat', { scopes: ['repo'], expiring: false });
  knownSecrets.add(accessToken);
  const octokit = () => new Octokit({ auth: accessToken, baseUrl: fake.apiUrl, log: quiet });
  return {
    fake,
    repoId: repo.data.id,
    accessToken,
    github: { forUser: async () => octokit() },
    octokit,
  };
}

export async function connectFixture(
  db: Db,
  fx: GitHubFixture,
  opts: { autoRerunInfrastructure?: boolean } = {},
): Promise<RepositoryConnection> {
  return seedConnection(db, {
    fullName: 'octocat/app',
    githubRepoId: fx.repoId,
    autoRerunInfrastructure: opts.autoRerunInfrastructure ?? false,
  });
}

export interface FakeJobSpec {
  name: string;
  conclusion: 'failure' | 'success' | 'timed_out' | 'cancelled';
  log?: string;
  failedStep?: string;
}

/**
 * A completed run with these jobs on the fake GitHub and in the database (jobs omitted
 * from the database when `recordJobs` is false, as when job events have not arrived),
 * passed through the incident hook. Returns the incident and its pending outbox row.
 */
export async function failingRun(
  db: Db,
  fx: GitHubFixture,
  connection: RepositoryConnection,
  jobs: FakeJobSpec[],
  opts: {
    recordJobs?: boolean;
    conclusion?: 'failure' | 'startup_failure' | 'timed_out';
    completedAt?: Date;
  } = {},
): Promise<{ incident: Incident; jobKey: string; githubRunId: number; jobIds: number[] }> {
  const conclusion = opts.conclusion ?? 'failure';
  const completedAt = opts.completedAt ?? new Date();
  const run = fx.fake.addRun('octocat/app', {
    status: 'completed',
    conclusion,
    run_started_at: new Date(completedAt.getTime() - 60_000).toISOString(),
    updated_at: completedAt.toISOString(),
  });
  const jobIds = jobs.map(
    (job) =>
      fx.fake.addJob(run.id, {
        name: job.name,
        conclusion: job.conclusion,
        ...(job.log === undefined ? {} : { log: job.log }),
        steps: [
          { name: 'Set up job', conclusion: 'success' },
          {
            name: job.failedStep ?? 'Run npm test',
            conclusion: job.conclusion === 'success' ? 'success' : 'failure',
          },
        ],
      }).id,
  );
  const recorded = await recordRun(db, connection, {
    githubRunId: run.id,
    conclusion,
    headSha: run.head_sha,
    startedAt: new Date(completedAt.getTime() - 60_000),
    completedAt,
    jobs:
      opts.recordJobs === false
        ? []
        : jobs.map((job, i) => ({
            name: job.name,
            conclusion: job.conclusion,
            githubJobId: jobIds[i]!,
            failedSteps: job.conclusion === 'success' ? [] : [job.failedStep ?? 'Run npm test'],
          })),
  });
  await deliver(db, createIncidentHook({ notify: () => {} }), connection, recorded);
  const [row] = await db.select().from(incidents).where(eq(incidents.lastRunId, recorded.run.id));
  const pending = (await db.select().from(outbox)).filter(
    (o) => (o.payload as { incidentId: string }).incidentId === row!.id && o.dispatchedAt === null,
  );
  return { incident: row!, jobKey: pending.at(-1)!.jobKey, githubRunId: run.id, jobIds };
}
