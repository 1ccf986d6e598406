// Group commit: deliveries that arrive while earlier ones are being written wait (no timer,
// no added latency when idle) and are then written together in one transaction, so under
// load a commit — and its fsync — is shared by many requests. Each submitter's promise
// settles only after the transaction that holds its item has committed.
//
// If a group's transaction fails, its items are retried one by one, so one bad delivery
// cannot fail its neighbours; only the item that fails on its own is rejected.
//
// Memory is bounded twice: by the number of items waiting and, with `sizeOf`, by their
// total size (a few large deliveries weigh more than a thousand small ones). Sizes also
// cap a group, so one transaction never has to carry many large payloads at once.

export interface GroupCommitOptions<I, R> {
  /** Writes the items in one transaction; one result per item, in order. */
  commit(items: I[]): Promise<R[]>;
  /** Most items per transaction. */
  maxGroup: number;
  /** Transactions in flight at once (PGlite: 1; Postgres: a few pool connections). */
  concurrency: number;
  /**
   * Items that must be waiting before a transaction starts beside one in flight (default 1:
   * any). Below it they wait for the running one and go together: at moderate rates a few
   * larger groups cost the database much less than many of one or two, each paying its own
   * BEGIN, statements and COMMIT.
   */
  extraLaneAt?: number;
  /** Told when a group failed and is being retried item by item. */
  onGroupFailure?(error: unknown, size: number): void;
  /** Items allowed to wait; beyond, submit() rejects with GroupCommitFullError at once. */
  maxQueued?: number;
  /** An item's weight for the two limits below (deliveries: their payload's length). */
  sizeOf?(item: I): number;
  /**
   * Total size allowed to wait (queued, not yet in a transaction); an item that would go
   * beyond is refused with GroupCommitFullError. An item larger than this on its own is
   * still accepted when nothing else waits, so it is not refused forever.
   */
  maxQueuedBytes?: number;
  /** Most total size per transaction; a single item larger than this still goes alone. */
  maxGroupBytes?: number;
}

/** Too much is waiting already: refuse now rather than hold memory and answer late. */
export class GroupCommitFullError extends Error {
  override name = 'GroupCommitFullError';
}

interface Waiting<I, R> {
  item: I;
  size: number;
  resolve(result: R): void;
  reject(error: unknown): void;
}

export function createGroupCommit<I, R>(opts: GroupCommitOptions<I, R>) {
  const extraLaneAt = opts.extraLaneAt ?? 1;
  if (opts.maxGroup < 1 || opts.concurrency < 1) {
    throw new RangeError('group commit: maxGroup and concurrency must be at least 1');
  }
  if ((opts.maxQueuedBytes ?? 1) < 1 || (opts.maxGroupBytes ?? 1) < 1) {
    throw new RangeError('group commit: maxQueuedBytes and maxGroupBytes must be at least 1');
  }
  const sizeOf = opts.sizeOf ?? (() => 0);
  const maxGroupBytes = opts.maxGroupBytes ?? Infinity;
  const queue: Array<Waiting<I, R>> = [];
  /** Total size of what is in `queue` (items in a transaction no longer count). */
  let queuedBytes = 0;
  let inFlight = 0;
  let scheduled = false;
  let idleWaiters: Array<() => void> = [];

  async function commitOne(w: Waiting<I, R>): Promise<void> {
    try {
      const [result] = await opts.commit([w.item]);
      w.resolve(result as R);
    } catch (error) {
      w.reject(error);
    }
  }

  async function commitGroup(group: Array<Waiting<I, R>>): Promise<void> {
    if (group.length === 1) return commitOne(group[0]!);
    let results: R[];
    try {
      results = await opts.commit(group.map((w) => w.item));
    } catch (error) {
      opts.onGroupFailure?.(error, group.length);
      for (const w of group) await commitOne(w);
      return;
    }
    group.forEach((w, i) => w.resolve(results[i] as R));
  }

  function flush(): void {
    scheduled = false;
    while (
      inFlight < opts.concurrency &&
      queue.length > 0 &&
      (inFlight === 0 || queue.length >= extraLaneAt)
    ) {
      // Share what is waiting among the free lanes: several smaller transactions run in
      // parallel on the pool's connections instead of one big one at a time — once enough
      // waits to be worth more than one.
      const lanes = queue.length >= extraLaneAt ? opts.concurrency - inFlight : 1;
      const count = Math.min(opts.maxGroup, Math.ceil(queue.length / lanes));
      // Then as many of those as fit in maxGroupBytes, and always at least one.
      let take = 1;
      let bytes = queue[0]!.size;
      while (take < count && bytes + queue[take]!.size <= maxGroupBytes) {
        bytes += queue[take]!.size;
        take += 1;
      }
      const group = queue.splice(0, take);
      queuedBytes -= bytes;
      inFlight += 1;
      void commitGroup(group).finally(() => {
        inFlight -= 1;
        schedule();
      });
    }
    if (inFlight === 0 && queue.length === 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    // setImmediate, not a timer: requests parsed in the same turn of the event loop join
    // the group, and an idle system adds no delay.
    setImmediate(flush);
  }

  return {
    submit(item: I): Promise<R> {
      if (opts.maxQueued !== undefined && queue.length >= opts.maxQueued) {
        return Promise.reject(new GroupCommitFullError(`${queue.length} items already waiting`));
      }
      const size = sizeOf(item);
      if (
        opts.maxQueuedBytes !== undefined &&
        queue.length > 0 &&
        queuedBytes + size > opts.maxQueuedBytes
      ) {
        return Promise.reject(
          new GroupCommitFullError(
            `${queuedBytes} bytes already waiting; ${size} more would exceed ${opts.maxQueuedBytes}`,
          ),
        );
      }
      return new Promise<R>((resolve, reject) => {
        queue.push({ item, size, resolve, reject });
        queuedBytes += size;
        schedule();
      });
    },
    /** Resolves once nothing is queued or being written. */
    drain(): Promise<void> {
      if (inFlight === 0 && queue.length === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    get pending(): number {
      return queue.length + inFlight;
    },
    /** Total size of the items waiting for a transaction. */
    get queuedBytes(): number {
      return queuedBytes;
    },
  };
}
