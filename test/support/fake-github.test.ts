// Tests of the GitHub fake itself: if it drifts from GitHub's behaviour, every test built on
// it lies. Covers the OAuth quirks, pagination, hooks and ping deliveries, log redirects,
// fault injection, OpenAPI checking, and Octokit working against it unchanged.
import { createHash } from 'node:crypto';
import { createServer, request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Octokit } from '@octokit/rest';
import { strFromU8, unzipSync } from 'fflate';
import t from 'tap';
import type { Test } from 'tap';
import { startFakeGitHub } from './fake-github.ts';
import type { FakeGitHub, FakeGitHubOptions } from './fake-github.ts';
import { hasOperation } from './fake-github/openapi.ts';
import { actionsRoutes } from './fake-github/routes-actions.ts';
import { gitRoutes } from './fake-github/routes-git.ts';
import { repoRoutes } from './fake-github/routes-repos.ts';
import { loadWebhookExamples, sendWebhook, signPayload } from './webhook-sender.ts';

const CALLBACK = 'http://127.0.0.1:3000/api/v2/oauth/github/callback';

async function fakeFor(t: Test, options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const fake = await startFakeGitHub({ callbackUrl: CALLBACK, ...options });
  t.teardown(() => fake.close());
  fake.addUser({ login: 'octocat', name: 'The Octocat', email: 'octocat@example.com' });
  return fake;
}

function octokitFor(fake: FakeGitHub, token: string, baseUrl = fake.apiUrl): Octokit {
  return new Octokit({
    baseUrl,
    auth: token,
    log: { debug() {}, info() {}, warn() {}, error() {} },
  });
}

async function tokenRequest(
  fake: FakeGitHub,
  params: Record<string, string>,
  accept?: string,
): Promise<{ status: number; contentType: string; text: string }> {
  const response = await fetch(`${fake.webUrl}/login/oauth/access_token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(accept ? { accept } : {}) },
    body: new URLSearchParams(params).toString(),
  });
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    text: await response.text(),
  };
}

async function tokenJson(
  fake: FakeGitHub,
  params: Record<string, string>,
): Promise<Record<string, unknown>> {
  const response = await fetch(`${fake.webUrl}/login/oauth/access_token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(params),
  });
  // GitHub answers token errors with HTTP 200 too; anything else is a broken fake.
  if (response.status !== 200) throw new Error(`token endpoint answered ${response.status}`);
  return (await response.json()) as Record<string, unknown>;
}

function credentials(fake: FakeGitHub) {
  return { client_id: fake.clientId, client_secret: fake.clientSecret };
}

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A local webhook receiver that records what it gets and answers 202. */
async function startReceiver(t: Test): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(202, { 'content-type': 'text/plain' }).end('accepted');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/webhook`, received };
}

t.test('the authorize page approves and cancels with a redirect to the callback', async (t) => {
  const fake = await fakeFor(t, { signedInUser: 'octocat' });
  const query = new URLSearchParams({
    client_id: fake.clientId,
    redirect_uri: CALLBACK,
    state: 'st<ate>',
    scope: 'repo',
  });
  const page = await fetch(`${fake.webUrl}/login/oauth/authorize?${query}`);
  const html = await page.text();
  t.equal(page.status, 200);
  t.match(html, /<button[^>]*value="authorize"[^>]*>Authorize<\/button>/);
  t.match(html, /value="st&#60;ate&#62;"/, 'values from the URL are escaped in the page');

  const approve = await fetch(`${fake.webUrl}/login/oauth/authorize`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `${query}&login=octocat&decision=authorize`,
    redirect: 'manual',
  });
  t.equal(approve.status, 302);
  const approved = new URL(approve.headers.get('location') ?? '');
  t.equal(`${approved.origin}${approved.pathname}`, CALLBACK);
  t.match(approved.searchParams.get('code'), /^[0-9a-f]{20}$/);
  t.equal(approved.searchParams.get('state'), 'st<ate>');

  const cancel = await fetch(`${fake.webUrl}/login/oauth/authorize`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `${query}&decision=cancel`,
    redirect: 'manual',
  });
  const denied = new URL(cancel.headers.get('location') ?? '');
  t.equal(denied.searchParams.get('error'), 'access_denied');
  t.ok(denied.searchParams.get('error_description'));
  t.equal(denied.searchParams.get('state'), 'st<ate>');
  t.equal(denied.searchParams.get('code'), null);
});

t.test('auto-approval, ?login= and redirect_uri checks', async (t) => {
  const fake = await fakeFor(t, { autoApprove: true });
  fake.addUser({ login: 'hubot' });
  const authorize = (params: Record<string, string>) =>
    fetch(
      `${fake.webUrl}/login/oauth/authorize?${new URLSearchParams({ client_id: fake.clientId, state: 's1', ...params })}`,
      { redirect: 'manual' },
    );

  const auto = await authorize({ redirect_uri: CALLBACK, login: 'hubot' });
  t.equal(auto.status, 302);
  const code = new URL(auto.headers.get('location') ?? '').searchParams.get('code') ?? '';
  t.equal(fake.state.codes.get(code)?.userLogin, 'hubot');

  const sub = await authorize({ redirect_uri: `${CALLBACK}/deeper`, login: 'hubot' });
  t.match(
    sub.headers.get('location'),
    /\/callback\/deeper\?code=/,
    'a sub-path of the callback is allowed',
  );

  const elsewhere = await authorize({
    redirect_uri: 'http://evil.example/callback',
    login: 'hubot',
  });
  const mismatch = new URL(elsewhere.headers.get('location') ?? '');
  t.equal(
    `${mismatch.origin}${mismatch.pathname}`,
    CALLBACK,
    'the error goes to the registered callback',
  );
  t.equal(mismatch.searchParams.get('error'), 'redirect_uri_mismatch');

  const nobody = await authorize({ redirect_uri: CALLBACK });
  t.equal(nobody.status, 400, 'auto-approval needs someone signed in');
  const unknownClient = await fetch(`${fake.webUrl}/login/oauth/authorize?client_id=nope`);
  t.equal(unknownClient.status, 404);
});

t.test(
  'token endpoint: form answers by default, JSON on request, errors with HTTP 200',
  async (t) => {
    const fake = await fakeFor(t);
    const code = fake.issueCode('octocat', { redirectUri: CALLBACK });

    const form = await tokenRequest(fake, { ...credentials(fake), code, redirect_uri: CALLBACK });
    t.equal(form.status, 200);
    t.match(form.contentType, /^application\/x-www-form-urlencoded/);
    const answer = new URLSearchParams(form.text);
    t.match(answer.get('access_token'), /^ghu_[A-Za-z0-9]{36}$/);
    t.equal(answer.get('expires_in'), '28800');
    t.match(answer.get('refresh_token'), /^ghr_[A-Za-z0-9]{76}$/);
    t.equal(answer.get('refresh_token_expires_in'), '15897600');
    t.equal(answer.get('token_type'), 'bearer');
    t.equal(answer.get('scope'), '');

    const reused = await tokenRequest(fake, { ...credentials(fake), code }, 'application/json');
    t.equal(reused.status, 200, 'errors are HTTP 200 too');
    t.match(reused.contentType, /^application\/json/);
    t.match(JSON.parse(reused.text), {
      error: 'bad_verification_code',
      error_description: 'The code passed is incorrect or expired.',
      error_uri: /^https:\/\/docs\.github\.com\//,
    });

    const wrongSecret = await tokenJson(fake, {
      client_id: fake.clientId,
      client_secret: 'nope',
      code: fake.issueCode('octocat'),
    });
    t.equal(wrongSecret['error'], 'incorrect_client_credentials');

    const formError = await tokenRequest(fake, { ...credentials(fake), code: 'unknown' });
    t.equal(
      new URLSearchParams(formError.text).get('error'),
      'bad_verification_code',
      'errors are form-encoded too',
    );

    const mismatch = await tokenJson(fake, {
      ...credentials(fake),
      code: fake.issueCode('octocat', { redirectUri: CALLBACK }),
      redirect_uri: 'http://127.0.0.1:3000/other',
    });
    t.equal(mismatch['error'], 'redirect_uri_mismatch');

    const late = fake.issueCode('octocat');
    fake.advanceTime(11 * 60 * 1000);
    t.equal(
      (await tokenJson(fake, { ...credentials(fake), code: late }))['error'],
      'bad_verification_code',
      'codes expire after 10 minutes',
    );
    t.equal(fake.counters.codeGrants, 1);
    t.equal(fake.counters.tokenErrors, 5);
  },
);

t.test('PKCE: the code_verifier must match the S256 challenge', async (t) => {
  const fake = await fakeFor(t);
  const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const code = fake.issueCode('octocat', { codeChallenge: challenge });

  t.equal(
    (await tokenJson(fake, { ...credentials(fake), code }))['error'],
    'bad_verification_code',
    'missing verifier',
  );
  t.equal(
    (await tokenJson(fake, { ...credentials(fake), code, code_verifier: `${verifier}x` }))['error'],
    'bad_verification_code',
    'wrong verifier',
  );
  const ok = await tokenJson(fake, { ...credentials(fake), code, code_verifier: verifier });
  t.match(ok['access_token'], /^ghu_/);
  t.equal(
    (await tokenJson(fake, { ...credentials(fake), code, code_verifier: verifier }))['error'],
    'bad_verification_code',
    'single use',
  );
});

t.test('refresh tokens rotate and the old pair stops working', async (t) => {
  const fake = await fakeFor(t);
  const first = await tokenJson(fake, { ...credentials(fake), code: fake.issueCode('octocat') });
  const firstAccess = String(first['access_token']);
  const firstRefresh = String(first['refresh_token']);

  const second = await tokenJson(fake, {
    ...credentials(fake),
    grant_type: 'refresh_token',
    refresh_token: firstRefresh,
  });
  t.match(second, { access_token: /^ghu_/, refresh_token: /^ghr_/, expires_in: 28800 });
  t.not(second['refresh_token'], firstRefresh);
  t.equal(fake.counters.refreshGrants, 1);

  const reused = await tokenJson(fake, {
    ...credentials(fake),
    grant_type: 'refresh_token',
    refresh_token: firstRefresh,
  });
  t.equal(reused['error'], 'bad_refresh_token');
  t.equal(fake.counters.refreshGrants, 1);

  const oldUser = await fetch(`${fake.apiUrl}/user`, {
    headers: { authorization: `token ${firstAccess}` },
  });
  t.equal(oldUser.status, 401);
  t.match(await oldUser.json(), {
    message: 'Bad credentials',
    documentation_url: /docs\.github\.com/,
  });
  const newUser = await fetch(`${fake.apiUrl}/user`, {
    headers: { authorization: `Bearer ${String(second['access_token'])}` },
  });
  t.equal(newUser.status, 200);

  fake.expireAccessToken(String(second['access_token']));
  const expired = await fetch(`${fake.apiUrl}/user`, {
    headers: { authorization: `Bearer ${String(second['access_token'])}` },
  });
  t.equal(expired.status, 401, 'an expired token is bad credentials');
  t.same(fake.violations, []);
});

t.test('classic OAuth tokens: gho_, scopes, no refresh, scope-limited visibility', async (t) => {
  const fake = await fakeFor(t, { expiringTokens: false });
  fake.addRepo('octocat', { name: 'public-one' });
  fake.addRepo('octocat', { name: 'secret-one', private: true });
  const answer = await tokenJson(fake, {
    ...credentials(fake),
    code: fake.issueCode('octocat', { scopes: ['read:user', 'admin:repo_hook'] }),
  });
  t.match(answer['access_token'], /^gho_[A-Za-z0-9]{36}$/);
  t.equal(answer['scope'], 'read:user,admin:repo_hook');
  t.notOk('refresh_token' in answer);
  t.notOk('expires_in' in answer);

  const octokit = octokitFor(fake, String(answer['access_token']));
  const repos = await octokit.paginate(octokit.rest.repos.listForAuthenticatedUser);
  t.same(
    repos.map((r) => r.name),
    ['public-one'],
    'private repositories need the repo scope',
  );
  const user = await octokit.rest.users.getAuthenticated();
  t.equal(user.headers['x-oauth-scopes'], 'read:user, admin:repo_hook');
  await t.rejects(octokit.rest.repos.get({ owner: 'octocat', repo: 'secret-one' }), {
    name: 'HttpError',
    status: 404,
  });
});

t.test('DELETE /applications/{client_id}/grant revokes every token of the grant', async (t) => {
  const fake = await fakeFor(t);
  const one = fake.issueToken('octocat');
  const two = fake.issueToken('octocat');
  const basic = `Basic ${Buffer.from(`${fake.clientId}:${fake.clientSecret}`).toString('base64')}`;
  const revoke = (authorization: string, token: string) =>
    fetch(`${fake.apiUrl}/applications/${fake.clientId}/grant`, {
      method: 'DELETE',
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ access_token: token }),
    });

  t.equal(
    (
      await revoke(
        `Basic ${Buffer.from(`${fake.clientId}:wrong`).toString('base64')}`,
        one.accessToken,
      )
    ).status,
    404,
  );
  t.equal((await revoke(basic, 'ghu_unknown')).status, 404);
  t.equal((await revoke(basic, one.accessToken)).status, 204);
  for (const token of [one.accessToken, two.accessToken]) {
    const res = await fetch(`${fake.apiUrl}/user`, {
      headers: { authorization: `token ${token}` },
    });
    t.equal(res.status, 401);
  }
  const refresh = await tokenJson(fake, {
    ...credentials(fake),
    grant_type: 'refresh_token',
    refresh_token: two.refreshToken ?? '',
  });
  t.equal(refresh['error'], 'bad_refresh_token', 'refresh tokens of the grant are revoked too');
  t.equal(fake.counters.grantRevocations, 1);
  t.same(fake.violations, []);
});

t.test('Octokit works unchanged: pagination follows a correct Link header', async (t) => {
  const fake = await fakeFor(t);
  fake.addOrg('octo-org', { members: ['octocat'] });
  fake.addUser({ login: 'hubot' });
  for (const name of ['delta', 'alpha', 'echo', 'charlie', 'bravo'])
    fake.addRepo('octocat', { name });
  fake.addRepo('octo-org', { name: 'org-repo', private: true });
  fake.addRepo('hubot', { name: 'shared', collaborators: { octocat: 'write' } });
  fake.addRepo('hubot', { name: 'not-mine' });
  const { accessToken } = fake.issueToken('octocat');
  const octokit = octokitFor(fake, accessToken);

  const all = await octokit.paginate(octokit.rest.repos.listForAuthenticatedUser, { per_page: 2 });
  t.same(
    all.map((r) => r.full_name),
    [
      'hubot/shared',
      'octo-org/org-repo',
      'octocat/alpha',
      'octocat/bravo',
      'octocat/charlie',
      'octocat/delta',
      'octocat/echo',
    ],
  );
  t.same(all[0]?.permissions, {
    admin: false,
    maintain: false,
    push: true,
    triage: true,
    pull: true,
  });
  const owned = await octokit.paginate(octokit.rest.repos.listForAuthenticatedUser, {
    affiliation: 'owner',
    direction: 'desc',
  });
  t.equal(owned[0]?.name, 'echo');

  const page = (n: number) =>
    fetch(`${fake.apiUrl}/user/repos?per_page=2&affiliation=owner&page=${n}`, {
      headers: { authorization: `token ${accessToken}` },
    });
  const link = (n: number) => `<${fake.apiUrl}/user/repos?per_page=2&affiliation=owner&page=${n}>`;
  t.equal((await page(1)).headers.get('link'), `${link(2)}; rel="next", ${link(3)}; rel="last"`);
  t.equal(
    (await page(2)).headers.get('link'),
    `${link(1)}; rel="prev", ${link(3)}; rel="next", ${link(3)}; rel="last", ${link(1)}; rel="first"`,
  );
  const last = await page(3);
  t.equal(last.headers.get('link'), `${link(2)}; rel="prev", ${link(1)}; rel="first"`);
  t.equal(((await last.json()) as unknown[]).length, 1);

  const ghe = octokitFor(fake, accessToken, fake.gheApiUrl);
  const viaGhe = await ghe.paginate(ghe.rest.repos.listForAuthenticatedUser, { per_page: 3 });
  t.equal(viaGhe.length, 7, 'the /api/v3 prefix works the same, Link included');
  t.ok(fake.requests.some((r) => r.url.startsWith('/api/v3/user/repos?per_page=3&page=3')));
  await t.rejects(octokit.rest.repos.get({ owner: 'octocat', repo: 'missing' }), {
    name: 'HttpError',
    status: 404,
  });
  t.same(fake.violations, []);
});

t.test('hooks: validation, duplicates, hidden secret, ping deliveries', async (t) => {
  const fake = await fakeFor(t);
  fake.addRepo('octocat', { name: 'hello' });
  const receiver = await startReceiver(t);
  const octokit = octokitFor(fake, fake.issueToken('octocat').accessToken);
  const repo = { owner: 'octocat', repo: 'hello' };

  const created = await octokit.rest.repos.createWebhook({
    ...repo,
    name: 'web',
    config: { url: receiver.url, content_type: 'json', secret: 'hook-secret', insecure_ssl: '0' },
    events: ['workflow_run', 'workflow_job'],
    active: true,
  });
  t.equal(created.status, 201);
  t.equal(created.data.config.secret, '********', 'GitHub never returns the secret');
  t.same(created.data.events, ['workflow_run', 'workflow_job']);
  t.equal(fake.hooksOf('octocat/hello')[0]?.config.secret, 'hook-secret');

  await fake.settled();
  t.equal(receiver.received.length, 1, 'GitHub pings a new hook');
  const ping = receiver.received[0];
  t.equal(ping?.headers['x-github-event'], 'ping');
  t.equal(ping?.headers['x-github-hook-id'], String(created.data.id));
  t.match(ping?.headers['user-agent'], /^GitHub-Hookshot\//);
  t.match(ping?.headers['x-github-delivery'], /^[0-9a-f-]{36}$/);
  t.equal(ping?.headers['x-hub-signature-256'], signPayload('hook-secret', ping?.body ?? ''));
  t.match(JSON.parse(ping?.body ?? '{}'), {
    hook_id: created.data.id,
    zen: String,
    repository: { full_name: 'octocat/hello' },
  });

  await t.rejects(
    octokit.rest.repos.createWebhook({
      ...repo,
      config: { url: receiver.url, content_type: 'json' },
    }),
    {
      name: 'HttpError',
      status: 422,
      response: { data: { errors: [{ message: 'Hook already exists on this repository' }] } },
    },
  );
  await t.rejects(octokit.rest.repos.createWebhook({ ...repo, config: { content_type: 'json' } }), {
    name: 'HttpError',
    status: 422,
  });
  await t.rejects(
    octokit.rest.repos.createWebhook({
      ...repo,
      config: { url: `${receiver.url}/2` },
      events: ['workflow_runs'],
    }),
    { name: 'HttpError', status: 422 },
  );

  const form = await octokit.rest.repos.createWebhook({
    ...repo,
    config: { url: `${receiver.url}/form`, secret: 's2' },
    events: ['push'],
  });
  t.equal(form.data.config.content_type, 'form', "GitHub's default encoding is form");
  await octokit.rest.repos.pingWebhook({ ...repo, hook_id: created.data.id });
  await fake.settled();
  t.equal(receiver.received.length, 3);
  const formPing = receiver.received.find(
    (r) => r.headers['content-type'] === 'application/x-www-form-urlencoded',
  );
  t.match(formPing?.body, /^payload=/);
  t.equal(
    formPing?.headers['x-hub-signature-256'],
    signPayload('s2', formPing?.body ?? ''),
    'the form body is what is signed',
  );
  t.same(
    fake.state.deliveries.map((d) => d.status),
    [202, 202, 202],
  );

  const updated = await octokit.rest.repos.updateWebhook({
    ...repo,
    hook_id: created.data.id,
    config: { url: receiver.url, content_type: 'json' },
    add_events: ['pull_request'],
  });
  t.same(updated.data.events, ['workflow_run', 'workflow_job', 'pull_request']);
  t.equal(
    fake.state.hooks.get(created.data.id)?.config.secret,
    undefined,
    'a new config without secret removes the secret',
  );
  t.equal((await octokit.rest.repos.listWebhooks(repo)).data.length, 2);
  await octokit.rest.repos.deleteWebhook({ ...repo, hook_id: form.data.id });
  await t.rejects(octokit.rest.repos.getWebhook({ ...repo, hook_id: form.data.id }), {
    name: 'HttpError',
    status: 404,
  });
  t.same(fake.violations, []);
});

t.test('hooks need admin rights and, for classic tokens, a hook scope', async (t) => {
  const fake = await fakeFor(t, { expiringTokens: false });
  fake.addUser({ login: 'hubot' });
  fake.addRepo('hubot', { name: 'theirs', collaborators: { octocat: 'write' } });
  fake.addRepo('octocat', { name: 'mine' });
  const writer = octokitFor(fake, fake.issueToken('octocat', { scopes: ['repo'] }).accessToken);
  await t.rejects(writer.rest.repos.listWebhooks({ owner: 'hubot', repo: 'theirs' }), {
    name: 'HttpError',
    status: 404,
  });
  const noScope = octokitFor(
    fake,
    fake.issueToken('octocat', { scopes: ['read:user'] }).accessToken,
  );
  await t.rejects(
    noScope.rest.repos.createWebhook({
      owner: 'octocat',
      repo: 'mine',
      config: { url: 'http://127.0.0.1:9/x' },
    }),
    {
      name: 'HttpError',
      status: 404,
      response: {
        headers: { 'x-accepted-oauth-scopes': 'write:repo_hook, admin:repo_hook, repo' },
      },
    },
  );
});

t.test('events built from state reach subscribed hooks', async (t) => {
  const fake = await fakeFor(t, { pingOnHookCreate: false });
  fake.addRepo('octocat', { name: 'hello' });
  const receiver = await startReceiver(t);
  const octokit = octokitFor(fake, fake.issueToken('octocat').accessToken);
  await octokit.rest.repos.createWebhook({
    owner: 'octocat',
    repo: 'hello',
    config: { url: receiver.url, content_type: 'json', secret: 'x' },
    events: ['workflow_run'],
  });
  const run = fake.addRun('octocat/hello', { status: 'completed', conclusion: 'failure' });
  const job = fake.addJob(run.id, { conclusion: 'failure' });

  const deliveries = await fake.deliverEvent(
    'octocat/hello',
    'workflow_run',
    fake.workflowRunEvent(run.id),
  );
  t.equal(deliveries.length, 1);
  t.same(
    await fake.deliverEvent('octocat/hello', 'workflow_job', fake.workflowJobEvent(job.id)),
    [],
    'not subscribed',
  );
  const payload = JSON.parse(receiver.received[0]?.body ?? '{}') as Record<
    string,
    { id?: number; conclusion?: string }
  >;
  t.match(payload, {
    action: 'completed',
    workflow_run: { id: run.id, conclusion: 'failure' },
    repository: { full_name: 'octocat/hello' },
  });
});

t.test('Actions: runs, jobs, log redirects to another origin, zip, re-runs', async (t) => {
  const fake = await fakeFor(t);
  fake.addRepo('octocat', { name: 'hello' });
  const { accessToken } = fake.issueToken('octocat');
  const octokit = octokitFor(fake, accessToken);
  const repo = { owner: 'octocat', repo: 'hello' };
  fake.addRun('octocat/hello', {
    status: 'completed',
    conclusion: 'success',
    created_at: '2024-01-01T00:00:00Z',
  });
  const run = fake.addRun('octocat/hello', {
    status: 'completed',
    conclusion: 'failure',
    created_at: '2024-01-02T00:00:00Z',
  });
  t.ok(run.id > 2 ** 32, 'run ids exceed 32 bits, as on GitHub');
  const build = fake.addJob(run.id, { name: 'build', conclusion: 'success', log: 'build ok\n' });
  const test = fake.addJob(run.id, {
    name: 'test (ubuntu/node 20)',
    conclusion: 'failure',
    steps: [{ name: 'Run npm test', conclusion: 'failure' }],
  });
  fake.setJobLog(
    test.id,
    '2024-01-02T00:00:01.000Z ##[error]Process completed with exit code 1.\n',
  );

  const runs = await octokit.rest.actions.listWorkflowRunsForRepo({ ...repo, status: 'failure' });
  t.equal(runs.data.total_count, 1);
  t.equal(runs.data.workflow_runs[0]?.id, run.id);
  const allRuns = await octokit.paginate(octokit.rest.actions.listWorkflowRunsForRepo, {
    ...repo,
    per_page: 1,
  });
  t.same(
    allRuns.map((r) => r.run_number),
    [2, 1],
    'newest first, run numbers per workflow',
  );
  const jobs = await octokit.rest.actions.listJobsForWorkflowRun({
    ...repo,
    run_id: run.id,
    filter: 'latest',
  });
  t.same(
    jobs.data.jobs.map((j) => j.name),
    ['build', 'test (ubuntu/node 20)'],
  );
  t.equal(jobs.data.jobs[1]?.steps?.[0]?.conclusion, 'failure');

  const log = await octokit.rest.actions.downloadJobLogsForWorkflowRun({
    ...repo,
    job_id: test.id,
  });
  t.equal(log.data, '2024-01-02T00:00:01.000Z ##[error]Process completed with exit code 1.\n');
  const blobRequest = fake.requests.find((r) => r.server === 'blobs');
  t.equal(
    blobRequest?.headers['authorization'],
    undefined,
    'fetch drops Authorization on the cross-origin redirect',
  );

  const manual = await fetch(`${fake.apiUrl}/repos/octocat/hello/actions/jobs/${build.id}/logs`, {
    headers: { authorization: `token ${accessToken}` },
    redirect: 'manual',
  });
  t.equal(manual.status, 302);
  const location = manual.headers.get('location') ?? '';
  t.ok(location.startsWith(fake.blobUrl), 'the log lives on another origin');
  t.equal(await (await fetch(location)).text(), 'build ok\n');
  fake.advanceTime(61_000);
  t.equal((await fetch(location)).status, 403, 'log URLs expire after a minute');

  const zip = await fetch(`${fake.apiUrl}/repos/octocat/hello/actions/runs/${run.id}/logs`, {
    headers: { authorization: `token ${accessToken}` },
  });
  const files = unzipSync(new Uint8Array(await zip.arrayBuffer()));
  t.same(Object.keys(files).sort(), ['0_build.txt', '1_test (ubuntu_node 20).txt']);
  t.equal(strFromU8(files['0_build.txt'] ?? new Uint8Array()), 'build ok\n');

  const rerun = await octokit.rest.actions.reRunWorkflowFailedJobs({ ...repo, run_id: run.id });
  t.equal(rerun.status, 201);
  t.match(fake.state.reruns, [{ runId: run.id, failedJobsOnly: true }]);
  t.equal(run.run_attempt, 2);
  t.equal(run.status, 'queued');
  await t.rejects(octokit.rest.actions.reRunWorkflow({ ...repo, run_id: run.id }), {
    name: 'HttpError',
    status: 403,
  });
  const latest = await octokit.rest.actions.listJobsForWorkflowRun({ ...repo, run_id: run.id });
  t.equal(latest.data.total_count, 0, 'the new attempt has no jobs yet');
  const every = await octokit.rest.actions.listJobsForWorkflowRun({
    ...repo,
    run_id: run.id,
    filter: 'all',
  });
  t.equal(every.data.total_count, 2);
  t.same(fake.violations, []);
});

t.test('git data and pull requests', async (t) => {
  const fake = await fakeFor(t);
  fake.addRepo('octocat', {
    name: 'hello',
    files: { 'src/index.ts': 'export {};\n', 'package.json': '{}\n' },
  });
  const octokit = octokitFor(fake, fake.issueToken('octocat').accessToken);
  const repo = { owner: 'octocat', repo: 'hello' };

  const main = await octokit.rest.git.getRef({ ...repo, ref: 'heads/main' });
  t.equal(main.data.ref, 'refs/heads/main');
  await octokit.rest.git.createRef({
    ...repo,
    ref: 'refs/heads/flowfix/fix-1',
    sha: main.data.object.sha,
  });
  await t.rejects(
    octokit.rest.git.createRef({
      ...repo,
      ref: 'refs/heads/flowfix/fix-1',
      sha: main.data.object.sha,
    }),
    {
      name: 'HttpError',
      status: 422,
      message: /Reference already exists/,
    },
  );
  await t.rejects(
    octokit.rest.pulls.create({ ...repo, title: 'Fix', head: 'flowfix/fix-1', base: 'main' }),
    {
      name: 'HttpError',
      status: 422,
      response: { data: { errors: [{ message: 'No commits between main and flowfix/fix-1' }] } },
    },
  );

  const file = await octokit.rest.repos.getContent({
    ...repo,
    path: 'src/index.ts',
    ref: 'flowfix/fix-1',
  });
  t.ok(!Array.isArray(file.data) && file.data.type === 'file');
  const sha = !Array.isArray(file.data) && file.data.type === 'file' ? file.data.sha : '';
  await t.rejects(
    octokit.rest.repos.createOrUpdateFileContents({
      ...repo,
      path: 'src/index.ts',
      message: 'fix',
      content: Buffer.from('x').toString('base64'),
      branch: 'flowfix/fix-1',
    }),
    { name: 'HttpError', status: 422 },
    'updating without sha',
  );
  const put = await octokit.rest.repos.createOrUpdateFileContents({
    ...repo,
    path: 'src/index.ts',
    message: 'Fix the build',
    content: Buffer.from('export const fixed = true;\n').toString('base64'),
    sha,
    branch: 'flowfix/fix-1',
  });
  t.equal(put.status, 200);
  const dir = await octokit.rest.repos.getContent({ ...repo, path: 'src', ref: 'flowfix/fix-1' });
  t.ok(Array.isArray(dir.data));

  const blob = await octokit.rest.git.createBlob({
    ...repo,
    content: 'second\n',
    encoding: 'utf-8',
  });
  const tree = await octokit.rest.git.createTree({
    ...repo,
    base_tree: put.data.commit.tree?.sha ?? '',
    tree: [{ path: 'docs/NOTE.md', mode: '100644', type: 'blob', sha: blob.data.sha }],
  });
  const commit = await octokit.rest.git.createCommit({
    ...repo,
    message: 'Add a note',
    tree: tree.data.sha,
    parents: [put.data.commit.sha ?? ''],
  });
  await octokit.rest.git.updateRef({ ...repo, ref: 'heads/flowfix/fix-1', sha: commit.data.sha });
  await t.rejects(
    octokit.rest.git.updateRef({ ...repo, ref: 'heads/flowfix/fix-1', sha: main.data.object.sha }),
    {
      name: 'HttpError',
      status: 422,
      message: /not a fast forward/,
    },
  );

  const pull = await octokit.rest.pulls.create({
    ...repo,
    title: 'Fix the build',
    head: 'octocat:flowfix/fix-1',
    base: 'main',
    body: 'Proposed by Flowfix',
  });
  t.equal(pull.status, 201);
  t.match(pull.data, {
    number: 1,
    state: 'open',
    head: { ref: 'flowfix/fix-1' },
    base: { ref: 'main' },
    commits: 2,
    changed_files: 2,
  });
  await t.rejects(
    octokit.rest.pulls.create({ ...repo, title: 'Again', head: 'flowfix/fix-1', base: 'main' }),
    {
      name: 'HttpError',
      status: 422,
      response: {
        data: { errors: [{ message: 'A pull request already exists for octocat:flowfix/fix-1.' }] },
      },
    },
  );
  t.equal((await octokit.rest.pulls.get({ ...repo, pull_number: 1 })).data.title, 'Fix the build');
  t.equal(
    (await octokit.rest.pulls.list({ ...repo, head: 'octocat:flowfix/fix-1' })).data.length,
    1,
  );
  const raw = await fetch(
    file.data && !Array.isArray(file.data) && file.data.type === 'file'
      ? (file.data.download_url ?? '')
      : '',
  );
  t.equal(await raw.text(), 'export const fixed = true;\n', 'download_url follows the branch');
  t.same(fake.violations, []);
});

t.test('requests that do not match the OpenAPI description are refused and recorded', async (t) => {
  const fake = await fakeFor(t);
  fake.addRepo('octocat', { name: 'hello' });
  const headers = {
    authorization: `token ${fake.issueToken('octocat').accessToken}`,
    'content-type': 'application/json',
  };

  const typo = await fetch(`${fake.apiUrl}/user/repos?per_pag=2`, { headers });
  t.equal(typo.status, 400);
  t.match(await typo.json(), {
    message: /^fake-github: request does not match GitHub's OpenAPI description: .*per_pag/,
  });
  const badEnum = await fetch(`${fake.apiUrl}/user/repos?sort=name`, { headers });
  t.equal(badEnum.status, 400);
  const badId = await fetch(`${fake.apiUrl}/repos/octocat/hello/hooks/abc`, { headers });
  t.equal(badId.status, 400);
  const badBody = await fetch(`${fake.apiUrl}/repos/octocat/hello/hooks`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ config: 'nope', colour: 'red' }),
  });
  t.equal(badBody.status, 400);
  const missing = await fetch(`${fake.apiUrl}/repos/octocat/hello/git/refs`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ ref: 'refs/heads/x' }),
  });
  t.equal(missing.status, 400);
  const notJson = await fetch(`${fake.apiUrl}/repos/octocat/hello/git/refs`, {
    method: 'POST',
    headers,
    body: '{oops',
  });
  t.equal(notJson.status, 400);
  const wrongMethod = await fetch(`${fake.apiUrl}/user/repos`, { method: 'DELETE', headers });
  t.equal(wrongMethod.status, 400);
  const nowhere = await fetch(`${fake.apiUrl}/repos/octocat/hello/actions/nonsense`, { headers });
  t.equal(nowhere.status, 400);

  t.equal(fake.violations.length, 8);
  t.match(fake.violations[3], {
    route: 'POST /repos/{owner}/{repo}/hooks',
    problems: [
      'body.config must be of type object, got string',
      'body has unknown property "colour"',
    ],
  });
  t.match(fake.violations[4]?.problems, ['body is missing required property "sha"']);

  const unimplemented = await fetch(`${fake.apiUrl}/repos/octocat/hello/issues`, { headers });
  t.equal(unimplemented.status, 501, 'valid for GitHub but not faked: loud, not a silent 404');
  t.same(fake.unimplemented, ['GET /repos/{owner}/{repo}/issues']);
});

t.test('a request without User-Agent is refused like GitHub does', async (t) => {
  const fake = await fakeFor(t);
  const status = await new Promise<number | undefined>((resolve, reject) => {
    const req = httpRequest(`${fake.apiUrl}/user`, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', reject);
    req.end();
  });
  t.equal(status, 403);
});

t.test('failNext and rateLimitNext inject faults once', async (t) => {
  const fake = await fakeFor(t);
  fake.addRepo('octocat', { name: 'hello' });
  const headers = { authorization: `token ${fake.issueToken('octocat').accessToken}` };
  fake.failNext('GET', '/repos/{owner}/{repo}', 403);
  const limited = await fetch(`${fake.apiUrl}/repos/octocat/hello`, { headers });
  t.equal(limited.status, 403);
  t.equal(limited.headers.get('x-ratelimit-remaining'), '0');
  t.ok(Number(limited.headers.get('x-ratelimit-reset')) > Date.now() / 1000);
  t.equal(limited.headers.get('retry-after'), '60');
  t.equal(
    (await fetch(`${fake.apiUrl}/repos/octocat/hello`, { headers })).status,
    200,
    'only once',
  );

  fake.rateLimitNext('*', '/user', { kind: 'secondary', status: 429, retryAfterSeconds: 2 });
  const secondary = await fetch(`${fake.apiUrl}/user`, { headers });
  t.equal(secondary.status, 429);
  t.match(await secondary.json(), { message: /secondary rate limit/ });

  fake.failNext('POST', '/login/oauth/access_token', 502, 'Bad Gateway', { times: 2 });
  const first = await tokenRequest(fake, credentials(fake));
  const second = await tokenRequest(fake, credentials(fake));
  t.same([first.status, second.status], [502, 502]);
  fake.failNext('GET', /^\/user$/, 500, { message: 'Server Error' });
  t.equal((await fetch(`${fake.apiUrl}/user`, { headers })).status, 500);
});

t.test('every route the fake implements exists in the description', async (t) => {
  const routes = [
    ...Object.keys(repoRoutes),
    ...Object.keys(actionsRoutes),
    ...Object.keys(gitRoutes),
    'DELETE /applications/{client_id}/grant',
    'DELETE /applications/{client_id}/token',
  ];
  for (const route of routes) t.ok(hasOperation(route), route);
});

t.test('webhook-sender signs and encodes like GitHub', async (t) => {
  // GitHub's documented test vector for X-Hub-Signature-256.
  t.equal(
    signPayload("It's a Secret to Everybody", 'Hello, World!'),
    'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
  );
  const receiver = await startReceiver(t);
  const [example] = loadWebhookExamples('workflow_run');
  t.ok(example);
  t.equal(example?.action, 'completed');
  const sent = await sendWebhook({
    url: receiver.url,
    secret: 's',
    event: 'workflow_run',
    payload: example?.payload ?? {},
    encoding: 'form',
    deliveryId: 'd-1',
    hookId: 42,
  });
  t.equal(sent.status, 202);
  t.equal(sent.body, 'accepted');
  const got = receiver.received[0];
  t.equal(got?.headers['x-github-delivery'], 'd-1');
  t.equal(got?.headers['x-github-hook-id'], '42');
  t.match(got?.headers['x-hub-signature'], /^sha1=[0-9a-f]{40}$/);
  t.same(JSON.parse(new URLSearchParams(got?.body).get('payload') ?? ''), example?.payload);

  await sendWebhook({
    url: receiver.url,
    secret: 's',
    event: 'ping',
    payload: '{"zen":"x"}',
    headersOverride: { 'X-Hub-Signature-256': null, 'x-github-event': 'push' },
  });
  t.equal(receiver.received[1]?.headers['x-hub-signature-256'], undefined);
  t.equal(receiver.received[1]?.headers['x-github-event'], 'push');
  t.equal(receiver.received[1]?.body, '{"zen":"x"}');

  const [first] = loadWebhookExamples('workflow_job');
  if (first) first.payload.action = 'changed' as never;
  t.not(
    loadWebhookExamples('workflow_job')[0]?.payload.action,
    'changed',
    'each call returns fresh copies',
  );
  t.ok(loadWebhookExamples('ping').every((e) => e.action === undefined));
  t.throws(() => loadWebhookExamples('workflow_runz'), /No webhook examples/);
});
