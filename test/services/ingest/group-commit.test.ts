// Group commit on its own: items arriving while a commit runs share the next one; results
// reach the right submitter only after the commit; a failing group is retried item by item
// so only the bad item fails; concurrency and group size are respected; drain waits; what
// waits is bounded by count and by total size, and a group by total size.
import t from 'tap';
import {
  GroupCommitFullError,
  createGroupCommit,
} from '../../../src/services/ingest/group-commit.ts';

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/**
 * A group commit whose commits wait until release() — what is submitted meanwhile queues —
 * and record the groups they were given.
 */
function gatedGroupCommit<I>(opts: Omit<Parameters<typeof createGroupCommit<I, I>>[0], 'commit'>) {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  const commits: I[][] = [];
  const group = createGroupCommit<I, I>({
    ...opts,
    async commit(items) {
      commits.push(items);
      await gate;
      return items;
    },
  });
  return { group, commits, release: () => release() };
}

t.test('groups what arrives while a commit is in flight', async (t) => {
  const commits: number[][] = [];
  let active = 0;
  let maxActive = 0;
  const group = createGroupCommit<number, string>({
    maxGroup: 10,
    concurrency: 1,
    async commit(items) {
      active += 1;
      maxActive = Math.max(maxActive, active);
      commits.push(items);
      await tick();
      active -= 1;
      return items.map((i) => `ok:${i}`);
    },
  });
  const first = group.submit(0);
  await nextTurn();
  const rest = Array.from({ length: 25 }, (_, i) => group.submit(i + 1));
  const results = await Promise.all([first, ...rest]);
  t.same(
    results,
    Array.from({ length: 26 }, (_, i) => `ok:${i}`),
  );
  t.same(commits[0], [0], 'an idle system commits right away');
  t.same(
    commits.slice(1).map((c) => c.length),
    [10, 10, 5],
    'later arrivals share commits, up to maxGroup',
  );
  t.equal(maxActive, 1);
  await group.drain();
  t.equal(group.pending, 0);
});

t.test('a failing group is retried one by one; only the bad item fails', async (t) => {
  const seen: number[][] = [];
  const failures: number[] = [];
  const group = createGroupCommit<number, number>({
    maxGroup: 50,
    concurrency: 2,
    onGroupFailure: (_err, size) => failures.push(size),
    async commit(items) {
      seen.push(items);
      await tick();
      if (items.includes(13)) throw new Error('bad item');
      return items.map((i) => i * 2);
    },
  });
  const settled = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => group.submit(i)));
  settled.forEach((s, i) => {
    if (i === 13) t.equal(s.status, 'rejected');
    else t.same(s, { status: 'fulfilled', value: i * 2 });
  });
  t.ok(failures.length >= 1);
  t.ok(
    seen.some((c) => c.length === 1 && c[0] === 13),
    'the bad item was tried alone',
  );
});

t.test('concurrency and options', async (t) => {
  t.throws(() => createGroupCommit({ maxGroup: 0, concurrency: 1, commit: async () => [] }));
  let active = 0;
  let maxActive = 0;
  const group = createGroupCommit<number, number>({
    maxGroup: 1,
    concurrency: 3,
    async commit(items) {
      active += 1;
      maxActive = Math.max(maxActive, active);
      await tick();
      active -= 1;
      return items;
    },
  });
  const all = Array.from({ length: 9 }, (_, i) => group.submit(i));
  const drained = group.drain();
  t.same(await Promise.all(all), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  await drained;
  t.equal(maxActive, 3);
  await group.drain();
});

t.test('a full queue refuses at once instead of growing', async (t) => {
  const { group, release } = gatedGroupCommit<number>({
    maxGroup: 1,
    concurrency: 1,
    maxQueued: 2,
  });
  const first = group.submit(1);
  await nextTurn();
  const waiting = [group.submit(2), group.submit(3)];
  await t.rejects(group.submit(4), GroupCommitFullError);
  release();
  t.same(await Promise.all([first, ...waiting]), [1, 2, 3]);
});

t.test('waiting items are bounded by their total size too', async (t) => {
  const { group, release } = gatedGroupCommit<string>({
    maxGroup: 100,
    concurrency: 1,
    sizeOf: (item) => item.length,
    maxQueuedBytes: 10,
  });
  // In flight: no longer counted as waiting, however large.
  const first = group.submit('x'.repeat(50));
  await nextTurn();
  t.equal(group.queuedBytes, 0, 'an item in a transaction does not count');
  const waiting = [group.submit('aaaa'), group.submit('bbbbbb')];
  t.equal(group.queuedBytes, 10);
  await t.rejects(group.submit('c'), GroupCommitFullError, 'one byte over the bound');
  await t.rejects(group.submit('c'), /10 bytes already waiting; 1 more would exceed 10/);
  t.equal(group.pending, 3, 'the refused items were not kept');
  release();
  t.same(await Promise.all([first, ...waiting]), ['x'.repeat(50), 'aaaa', 'bbbbbb']);
  t.equal(group.queuedBytes, 0);
  // Room again once the queue drained.
  t.equal(await group.submit('c'), 'c');
});

t.test('an item larger than the bound alone is accepted when nothing waits', async (t) => {
  const { group, release } = gatedGroupCommit<string>({
    maxGroup: 100,
    concurrency: 1,
    sizeOf: (item) => item.length,
    maxQueuedBytes: 10,
  });
  const first = group.submit('first');
  await nextTurn();
  const big = group.submit('y'.repeat(25));
  t.equal(group.queuedBytes, 25);
  await t.rejects(group.submit('z'), GroupCommitFullError, 'nothing joins it');
  release();
  t.same(await Promise.all([first, big]), ['first', 'y'.repeat(25)]);
});

t.test('a group carries at most maxGroupBytes, a single larger item goes alone', async (t) => {
  const { group, commits, release } = gatedGroupCommit<string>({
    maxGroup: 100,
    concurrency: 1,
    sizeOf: (item) => item.length,
    maxGroupBytes: 8,
  });
  const first = group.submit('0');
  await nextTurn();
  const items = ['aaa', 'bbb', 'cc', 'd', 'e'.repeat(25), 'ff', 'gggg', 'hhhhh', 'i'];
  const rest = items.map((item) => group.submit(item));
  release();
  t.same(await Promise.all([first, ...rest]), ['0', ...items]);
  t.same(
    commits,
    [['0'], ['aaa', 'bbb', 'cc'], ['d'], ['e'.repeat(25)], ['ff', 'gggg'], ['hhhhh', 'i']],
    'groups of at most 8 bytes, in order; the 25-byte item alone',
  );
  t.equal(group.queuedBytes, 0);
});

t.test('size limits are checked when the group commit is created', async (t) => {
  const commit = async (items: number[]) => items;
  t.throws(
    () => createGroupCommit({ maxGroup: 1, concurrency: 1, maxQueuedBytes: 0, commit }),
    RangeError,
  );
  t.throws(
    () => createGroupCommit({ maxGroup: 1, concurrency: 1, maxGroupBytes: 0, commit }),
    RangeError,
  );
});

t.test('a second transaction starts only once extraLaneAt items wait', async (t) => {
  const { group, commits, release } = gatedGroupCommit<number>({
    maxGroup: 100,
    concurrency: 2,
    extraLaneAt: 3,
  });
  const first = group.submit(0);
  await nextTurn();
  t.same(commits, [[0]], 'the first goes at once');
  const few = [group.submit(1), group.submit(2)];
  await nextTurn();
  t.same(commits, [[0]], 'two waiting: not worth a second lane');
  const more = [group.submit(3)];
  await nextTurn();
  t.same(commits, [[0], [1, 2, 3]], 'three waiting: a second transaction');
  release();
  t.same(await Promise.all([first, ...few, ...more]), [0, 1, 2, 3]);
});
