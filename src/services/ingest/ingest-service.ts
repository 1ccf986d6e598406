// The ingestion service the webhook routes call: verification of a connection's deliveries
// (cached secrets), and recording through group commit. A delivery that fails on its own
// is logged and recorded as an error (best effort), so a later redelivery from GitHub may
// retry it; the caller answers 500.
import type { SecretBox } from '../../crypto/secret-box.ts';
import type { Db } from '../../db/client.ts';
import { createRepositoryConnectionsStore } from '../../db/stores/repository-connections-store.ts';
import { createWebhookDeliveriesStore } from '../../db/stores/webhook-deliveries-store.ts';
import { createConnectionSecrets } from './connection-secrets.ts';
import { errors } from '../../errors.ts';
import { createGroupCommit, GroupCommitFullError } from './group-commit.ts';
import { APP_HOOK_KEY, recordWebhookDeliveries } from './record-webhook.ts';
import { ingestedParts } from './payload-rows.ts';
import type { DeliveryResult, RunRecordedHook, VerifiedDelivery } from './types.ts';

interface Logger {
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface IngestServiceOptions {
  db: Db;
  secretBox: SecretBox;
  log: Logger;
  /** Run after runs/jobs are written, in the same transaction (incident logic). */
  hooks?: readonly RunRecordedHook[];
  /** Transactions in flight at once; 1 for PGlite (one connection). */
  concurrency?: number;
  /** Deliveries waiting before a second transaction starts beside one (group-commit.ts). */
  extraLaneAt?: number;
  /** Most deliveries per transaction. */
  maxGroup?: number;
  /** Deliveries allowed to wait for a transaction before new ones get 503. */
  maxQueued?: number;
  /** Payload characters allowed to wait for a transaction before new deliveries get 503. */
  maxQueuedBytes?: number;
  /** Most payload characters per transaction (a single larger delivery still goes alone). */
  maxGroupBytes?: number;
}

/** The bounds a caller may change (tests lower them to reach saturation). */
export type IngestLimits = Pick<
  IngestServiceOptions,
  'maxQueued' | 'maxQueuedBytes' | 'maxGroupBytes'
>;

/** Deliveries waiting beyond this answer 503 (GitHub can redeliver): memory stays bounded. */
const DEFAULT_MAX_QUEUED = 1000;
/**
 * The same by size: 1000 small deliveries are a few MB, but GitHub sends up to 25 MB each,
 * and a waiting delivery is held as text and parsed object both.
 */
const DEFAULT_MAX_QUEUED_BYTES = 64 * 1024 * 1024;
/** Keeps one transaction's statements (every payload of the group is sent) reasonable. */
const DEFAULT_MAX_GROUP_BYTES = 8 * 1024 * 1024;

/** A failure, described without query text or parameters (they may hold payload data). */
function describe(error: unknown): { message: string; code: string | undefined } {
  const err = error as { code?: unknown; cause?: { code?: unknown; message?: unknown } };
  const code =
    typeof err.cause?.code === 'string'
      ? err.cause.code
      : typeof err.code === 'string'
        ? err.code
        : undefined;
  const raw =
    typeof err.cause?.message === 'string'
      ? err.cause.message
      : error instanceof Error
        ? error.message
        : String(error);
  return { message: raw.split('\n')[0]!.slice(0, 200), code };
}

export function createIngestService(opts: IngestServiceOptions) {
  const hooks = [...(opts.hooks ?? [])];
  const secrets = createConnectionSecrets({
    store: createRepositoryConnectionsStore(opts.db),
    secretBox: opts.secretBox,
  });
  const deliveries = createWebhookDeliveriesStore(opts.db);
  const group = createGroupCommit<VerifiedDelivery, DeliveryResult>({
    commit: (items) => recordWebhookDeliveries(opts.db, items, { hooks }),
    maxGroup: opts.maxGroup ?? 200,
    concurrency: opts.concurrency ?? 1,
    extraLaneAt: opts.extraLaneAt ?? 1,
    maxQueued: opts.maxQueued ?? DEFAULT_MAX_QUEUED,
    // The JSON text's length: what is held and sent to the database; cheap to know.
    sizeOf: (delivery) => delivery.payloadJson.length,
    maxQueuedBytes: opts.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES,
    maxGroupBytes: opts.maxGroupBytes ?? DEFAULT_MAX_GROUP_BYTES,
    onGroupFailure: (error, size) =>
      opts.log.warn(
        { ...describe(error), size },
        'webhook group commit failed; retrying its deliveries one by one',
      ),
  });

  async function recordFailure(delivery: VerifiedDelivery, reason: string): Promise<void> {
    const connectionId = delivery.route.kind === 'connection' ? delivery.route.connectionId : null;
    try {
      await deliveries.insertMany([
        {
          hookKey: connectionId ?? APP_HOOK_KEY,
          connectionId,
          deliveryId: delivery.deliveryId,
          event: delivery.event,
          action:
            typeof delivery.payload['action'] === 'string' ? delivery.payload['action'] : null,
          outcome: 'error',
          durationMs: Math.round(performance.now() - delivery.startedAt),
          error: reason,
          payloadText: null,
          receivedAt: delivery.receivedAt,
        },
      ]);
    } catch {
      // The database itself may be what failed; the log line above is the record then.
    }
  }

  return {
    secrets,

    /** Records a verified delivery; resolves after its transaction committed. */
    async record(delivery: VerifiedDelivery): Promise<DeliveryResult> {
      try {
        // While it waits, only the parts of the object ingestion reads are held.
        return await group.submit({ ...delivery, payload: ingestedParts(delivery.payload) });
      } catch (error) {
        if (error instanceof GroupCommitFullError) {
          opts.log.warn(
            { deliveryId: delivery.deliveryId, reason: error.message },
            'webhook ingestion saturated',
          );
          throw new errors.UNAVAILABLE(
            'Flowfix is saturated with deliveries; redeliver this one from GitHub later',
          );
        }
        const failure = describe(error);
        opts.log.error(
          { ...failure, deliveryId: delivery.deliveryId, event: delivery.event },
          'webhook delivery failed',
        );
        await recordFailure(
          delivery,
          `Processing failed${failure.code ? ` (${failure.code})` : ''}; redeliver it from GitHub to retry`,
        );
        // Not the original: a database error carries the statement, payload included.
        // eslint-disable-next-line preserve-caught-error -- the cause would leak that payload
        throw new Error(
          `webhook delivery not recorded${failure.code ? ` (${failure.code})` : ''}: ${failure.message}`,
        );
      }
    },

    /** Lets everything already accepted commit (shutdown). */
    drain(): Promise<void> {
      return group.drain();
    },
  };
}

export type IngestService = ReturnType<typeof createIngestService>;
