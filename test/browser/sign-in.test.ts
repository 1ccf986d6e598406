// A person in a real (headless) Chromium: from /admin to signed in through the fake
// GitHub's authorize page, then an API token made on the tokens page, read from the
// show-once box, works with curl-style requests — and one changed character does not.
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { chromium } from 'playwright-core';
import t from 'tap';
import { buildTestApp, knownSecrets } from '../helper.ts';
import { startFakeGitHub } from '../support/fake-github.ts';

const CHROMIUM = '/usr/bin/chromium';

function chromiumCheck(): { skip: string | false } {
  if (existsSync(CHROMIUM)) return { skip: false };
  if (process.env.CI === 'true')
    throw new Error(`CI=true but ${CHROMIUM} is missing: install it (apt-get install -y chromium)`);
  return { skip: `needs Chromium at ${CHROMIUM}: apt-get install -y chromium` };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

t.test('sign in with GitHub in a browser and create an API token', chromiumCheck(), async (t) => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const fake = await startFakeGitHub({
    callbackUrl: `${base}/api/v2/oauth/github/callback`,
    signedInUser: 'browser-user',
  });
  t.teardown(() => fake.close());
  fake.addUser({ login: 'browser-user', name: 'Browser User' });
  knownSecrets.add(fake.clientSecret);

  const { app } = await buildTestApp(t, {
    env: {
      PUBLIC_URL: base,
      GITHUB_CLIENT_ID: fake.clientId,
      GITHUB_CLIENT_SECRET: fake.clientSecret,
      GITHUB_API_URL: fake.apiUrl,
      GITHUB_WEB_URL: fake.webUrl,
    },
  });
  await app.listen({ port, host: '127.0.0.1' });

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('console', (msg) => {
    // A CSP violation shows up here: the pages must need no inline script or style.
    // Failed loads are reported (with their URL) by the response handler below.
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource'))
      problems.push(msg.text());
  });
  page.on('response', (res) => {
    // Browsers ask for /favicon.ico on their own; neither Flowfix nor the fake has one.
    if (res.status() >= 400 && !res.url().endsWith('/favicon.ico'))
      problems.push(`${res.status()} ${res.url()}`);
  });

  await page.goto(`${base}/admin`);
  await page.click('header a[href="/admin/login"]');
  await page.waitForURL(`${base}/admin/login**`);
  await page.click('#sign-in-github');

  // GitHub's consent page (the fake's), then back through the callback.
  await page.waitForURL(`${fake.webUrl}/login/oauth/authorize**`);
  t.equal(await page.inputValue('input[name="login"]'), 'browser-user');
  await page.click('#js-oauth-authorize-btn');
  await page.waitForURL(`${base}/admin`);
  t.match(await page.textContent('header .who'), /browser-user/);
  t.match(await page.textContent('header .who'), /Sign out/);

  await page.click('nav a[href="/admin/account"]');
  t.match(await page.textContent('#github-connection'), /connected/);

  await page.goto(`${base}/admin/tokens`);
  await page.fill('#token-name', 'from the browser');
  t.ok(await page.isChecked('input[name="scopes"][value="account:read"]'));
  await page.click('#create-token-submit');
  await page.waitForSelector('#flash-secret');
  const token = (await page.textContent('#flash-secret'))!.trim();
  knownSecrets.add(token);
  t.match(token, /^ffx_[0-9A-Za-z]{38}$/);
  t.match(await page.textContent('#token-list'), /from the browser/);

  await page.reload();
  t.equal(await page.locator('#flash-secret').count(), 0, 'shown once');

  const ok = await fetch(`${base}/api/v2/oauth/connections`, {
    headers: { authorization: `Bearer ${token}` },
  });
  t.equal(ok.status, 200);
  const body = (await ok.json()) as { items: Array<{ login: string; status: string }> };
  t.match(body.items, [{ login: 'browser-user', status: 'active' }]);

  const i = 10;
  const altered = token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
  const bad = await fetch(`${base}/api/v2/oauth/connections`, {
    headers: { authorization: `Bearer ${altered}` },
  });
  t.equal(bad.status, 401);

  // Read-only token on a write route.
  const write = await fetch(`${base}/api/v2/oauth/github/disconnect`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${token}` },
  });
  t.equal(write.status, 403);

  await page.click('header button:has-text("Sign out")');
  await page.waitForURL(`${base}/admin/login`);
  t.match(await page.textContent('main'), /You are signed out/);
  t.same(problems, [], 'no script errors or CSP violations');
  t.same(fake.violations, []);
});
