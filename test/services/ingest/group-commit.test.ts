// Group commit on its own: items arriving while a commit runs share the next one; results
// reach the right submitter only after the commit; a failing group is retried item by item
// so only the bad item fails; concurrency and group size are respected; drain waits.
import t from 'tap';
import {
  GroupCommitFullError,
  createGroupCommit,
} from '../../../src/services/ingest/group-commit.ts';

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

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
  await new Promise((resolve) => setImmediate(resolve));
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
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  const group = createGroupCommit<number, number>({
    maxGroup: 1,
    concurrency: 1,
    maxQueued: 2,
    async commit(items) {
      await gate;
      return items;
    },
  });
  const first = group.submit(1);
  await new Promise((resolve) => setImmediate(resolve));
  const waiting = [group.submit(2), group.submit(3)];
  await t.rejects(group.submit(4), GroupCommitFullError);
  release();
  t.same(await Promise.all([first, ...waiting]), [1, 2, 3]);
});
