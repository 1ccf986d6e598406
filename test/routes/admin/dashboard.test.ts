// The dashboard: figures computed from the signed-in user's runs and incidents, charts
// drawn as inline SVG (escaped, no scripts or styles), and figures that move when a
// green run resolves an incident.
import t from 'tap';
import { barChart } from '../../../src/services/charts/bar-chart.ts';
import { runColumns } from '../../../src/services/charts/run-columns.ts';
import { formatDuration, formatPercent } from '../../../src/services/charts/svg-text.ts';
import { createIncidentHook } from '../../../src/services/incidents/on-run-recorded.ts';
import { buildTestApp } from '../../helper.ts';
import { createUserWithToken, signIn } from '../../support/auth.ts';
import { deliver, recordRun, seedConnection } from '../../services/incidents/seed.ts';

const HOUR = 3600_000;

function figure(html: string, id: string): string {
  const m = new RegExp(`id="${id}">([^<]*)<`).exec(html);
  return m ? m[1]! : '';
}

t.test('charts are plain, escaped SVG', async (t) => {
  const svg = barChart(
    [
      { label: '<b>evil</b> & "co"', value: 3, detail: 'of 4' },
      { label: 'x'.repeat(100), value: 0 },
    ],
    { title: 'A <title>' },
  );
  t.match(svg, /^<svg class="chart"/);
  t.notMatch(svg, /<b>|<script|style=/);
  t.match(svg, /&lt;b&gt;evil&lt;\/b&gt; &amp; &quot;co&quot;/);
  t.match(svg, /aria-label="A &lt;title&gt;"/);
  t.match(svg, /x{31}…/, 'long labels are cut');
  t.match(barChart([], { title: 'none' }), /No data yet/);
  const columns = runColumns(
    [
      { day: '2024-05-01', total: 4, failed: 1 },
      { day: '2024-05-02', total: 0, failed: 0 },
    ],
    { title: 'runs' },
  );
  t.match(columns, /2024-05-01: 4 runs, 1 failed \(25 %\)/);
  t.match(columns, /fill="#cf222e"/);
  t.equal(formatPercent(1, 3), '33 %');
  t.equal(formatPercent(1, 200), '0.5 %');
  t.equal(formatPercent(0, 0), '—');
  t.equal(formatDuration(null), '—');
  t.equal(formatDuration(42), '42 s');
  t.equal(formatDuration(600), '10 min');
  t.equal(formatDuration(3 * 3600), '3 h');
  t.equal(formatDuration(2.5 * 3600), '2.5 h');
  t.equal(formatDuration(30 * 3600), '30 h');
  t.equal(formatDuration(84 * 3600), '3.5 d');
});

t.test('the dashboard follows the incidents', async (t) => {
  const { app } = await buildTestApp(t, { deps: { processors: {} } });
  const db = app.db;
  const alice = await createUserWithToken(app, { login: 'alice' });
  const bob = await createUserWithToken(app, { login: 'bob' });
  const session = await signIn(app, alice.user);
  const hook = createIncidentHook({ notify: () => {} });
  const connection = await seedConnection(db, { userId: alice.user.id, fullName: 'alice/web' });
  const bobs = await seedConnection(db, { userId: bob.user.id, fullName: 'bob/other' });
  const now = Date.now();

  for (let i = 0; i < 3; i++) {
    await recordRun(db, connection, {
      conclusion: 'success',
      startedAt: new Date(now - (20 - i) * 24 * HOUR),
    });
  }
  await deliver(
    db,
    hook,
    connection,
    await recordRun(db, connection, {
      conclusion: 'failure',
      workflowName: 'Deploy <prod>',
      startedAt: new Date(now - 2 * HOUR),
      jobs: [{ name: 'deploy', conclusion: 'failure' }],
    }),
  );
  // Another user's failures never show up.
  for (let i = 0; i < 5; i++) {
    await deliver(
      db,
      hook,
      bobs,
      await recordRun(db, bobs, {
        conclusion: 'failure',
        startedAt: new Date(now - HOUR),
        jobs: [{ name: `j${i}`, conclusion: 'failure' }],
      }),
    );
  }

  const load = async () => {
    const res = await app.inject({ url: '/admin/dashboard', headers: session.headers });
    t.equal(res.statusCode, 200);
    return res.body;
  };
  let html = await load();
  t.equal(figure(html, 'open-incidents'), '1');
  t.equal(figure(html, 'failure-rate-7'), '100 %');
  t.equal(figure(html, 'failure-rate-30'), '25 %');
  t.equal(figure(html, 'mttr'), '—');
  t.match(html, /<svg class="chart"/);
  t.match(html, /alice\/web · Deploy &lt;prod&gt;/);
  t.notMatch(html, /bob\/other/);
  t.notMatch(html, /Deploy <prod>/);
  t.notMatch(html, / style=/);
  t.match(html, /high: 1/);

  // The fix lands: a green run of the same workflow on the same branch.
  await deliver(
    db,
    hook,
    connection,
    await recordRun(db, connection, {
      conclusion: 'success',
      workflowName: 'Deploy <prod>',
      startedAt: new Date(now - HOUR),
      completedAt: new Date(now - HOUR + 60_000),
    }),
  );
  html = await load();
  t.equal(figure(html, 'open-incidents'), '0');
  t.equal(figure(html, 'failure-rate-7'), '50 %');
  t.equal(figure(html, 'failure-rate-30'), '20 %');
  t.equal(figure(html, 'mttr'), '1 h');
  t.match(html, /1 resolved/);

  const signedOut = await app.inject({ url: '/admin/dashboard' });
  t.equal(signedOut.statusCode, 302);
});
