// ingestedParts: what a delivery holds while it waits for its transaction. Whatever it
// drops, ingestion must read the same from it as from the whole payload — checked here on
// every example payload GitHub publishes for the events ingestion reads.
import t from 'tap';
import {
  ingestedParts,
  jobFromGitHub,
  runFromGitHub,
} from '../../../src/services/ingest/payload-rows.ts';
import { loadWebhookExamples } from '../../support/webhook-sender.ts';

const ctx = { userId: 'u', connectionId: 'c', receivedAt: new Date(0) };
const events = ['workflow_run', 'workflow_job', 'repository', 'ping', 'pull_request'] as const;

t.test('reads the same as the whole payload, and is much smaller', async (t) => {
  for (const event of events) {
    for (const { payload } of loadWebhookExamples(event)) {
      const whole = payload as unknown as Record<string, unknown>;
      const parts = ingestedParts(whole);
      t.same(runFromGitHub(parts['workflow_run'], ctx), runFromGitHub(whole['workflow_run'], ctx));
      t.same(jobFromGitHub(parts['workflow_job'], ctx), jobFromGitHub(whole['workflow_job'], ctx));
      t.equal(parts['action'], whole['action']);
      t.equal(parts['hook_id'], whole['hook_id']);
      const repo = whole['repository'] as Record<string, unknown> | undefined;
      for (const key of ['id', 'full_name', 'default_branch', 'private', 'html_url']) {
        t.equal((parts['repository'] as Record<string, unknown> | undefined)?.[key], repo?.[key]);
      }
      t.ok(
        JSON.stringify(parts).length < JSON.stringify(whole).length / 2,
        `${event}: less than half the size`,
      );
    }
  }
});

t.test('values that are not objects pass through for ingestion to refuse', async (t) => {
  t.same(ingestedParts({ repository: 'x', workflow_run: 42 }), {
    action: undefined,
    hook_id: undefined,
    workflow_job: undefined,
    repository: 'x',
    workflow_run: 42,
  });
  t.same(ingestedParts({}), { action: undefined, hook_id: undefined, workflow_job: undefined });
});
