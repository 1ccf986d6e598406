import t from 'tap';
import { REDACTED, scrubSecrets } from '../../../src/services/analysis/scrub-secrets.ts';

const TOKENS: Record<string, string> = {
  'GitHub classic token': 'ghp_16C7e42F292c6912E7710c838347Ae178B4a',
  'GitHub OAuth token': 'gho_16C7e42F292c6912E7710c838347Ae178B4a',
  'GitHub user-to-server token': 'ghu_16C7e42F292c6912E7710c838347Ae178B4a',
  'GitHub server-to-server token': 'ghs_16C7e42F292c6912E7710c838347Ae178B4a',
  'GitHub refresh token':
    'ghr_1B4a2e77838347a7E420ce178F2E7c6912E169246c34E1ccbF66C46812d16D5B1A9Dc86A1498',
  'GitHub short test token': 'ghu_testtoken',
  'GitHub fine-grained token':
    'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV',
  'Anthropic key': 'sk-ant-api03-Zx8Qv2Lm9Np4Rt6Wy1Bc3Df5Gh7Jk0MnOpQrStUvWxYz-AbCdEfAA',
  'Anthropic short test key': 'sk-ant-test',
  'OpenAI key': 'sk-abcdefghijklmnopqrstuvwxyz0123456789ABCD',
  'OpenAI project key': 'sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56',
  'OpenRouter key': 'sk-or-v1-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
  'Flowfix token': 'ffx_4sD9kLm2Qw8Zx1Vb7Nc3Tr6Yh0Jf5Ga2Ke4BxP9q3a1b',
  'npm token': 'npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789',
  'AWS access key id': 'AKIAIOSFODNN7EXAMPLE',
  'AWS temporary key id': 'ASIAIOSFODNN7EXAMPLE',
  'Slack bot token': 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx',
  'Slack user token': 'xoxp-123456789012-1234567890123-1234567890123-abcdef0123456789',
  JWT: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
  'JWT cut before its signature':
    'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0',
};

for (const [name, token] of Object.entries(TOKENS)) {
  t.test(`redacts a ${name}`, async (t) => {
    const out = scrubSecrets(`2024-01-01T00:00:00Z using ${token} now`);
    t.equal(out, `2024-01-01T00:00:00Z using ${REDACTED} now`);
  });
}

t.test('redacts a token prefix left alone by a line cap', async (t) => {
  for (const prefix of ['ghu_', 'gho_', 'ghr_', 'github_pat_', 'sk-ant-', 'sk-or-', 'ffx_']) {
    t.equal(scrubSecrets(`cut here ${prefix}…`), `cut here ${REDACTED}…`, prefix);
  }
});

t.test('redacts tokens next to punctuation and at the start and end of the text', async (t) => {
  t.equal(scrubSecrets('ghp_abc123'), REDACTED);
  t.equal(scrubSecrets('"ghp_abc123",'), `"${REDACTED}",`);
  t.equal(scrubSecrets('(sk-ant-xyz)'), `(${REDACTED})`);
});

t.test('redacts the credential of bearer and authorization headers', async (t) => {
  t.equal(
    scrubSecrets('curl -H "Authorization: Bearer abc.def.ghi123" https://api.example.com'),
    `curl -H "Authorization: ${REDACTED}" https://api.example.com`,
  );
  t.equal(scrubSecrets('Authorization: Basic dXNlcjpwYXNz'), `Authorization: ${REDACTED}`);
  t.equal(scrubSecrets('authorization: token 123456789abc'), `authorization: ${REDACTED}`);
  t.equal(scrubSecrets('{"Authorization": "opaque-value"}'), `{"Authorization": "${REDACTED}"}`);
  t.equal(scrubSecrets('sent bearer 0123456789abcdef'), `sent bearer ${REDACTED}`);
  t.equal(scrubSecrets('Bearer short'), 'Bearer short', 'a short word after "Bearer" is prose');
});

t.test('redacts the user and password of URLs', async (t) => {
  t.equal(
    scrubSecrets('fatal: unable to access https://x-access-token:s3cr3t@github.com/acme/site.git/'),
    `fatal: unable to access https://${REDACTED}@github.com/acme/site.git/`,
  );
  t.equal(scrubSecrets('postgres://app:hunter2@db:5432/app'), `postgres://${REDACTED}@db:5432/app`);
  t.equal(scrubSecrets('https://github.com/acme/site.git'), 'https://github.com/acme/site.git');
  t.equal(scrubSecrets('https://user@host/path'), 'https://user@host/path');
});

t.test('redacts values assigned to secret-sounding names', async (t) => {
  t.equal(scrubSecrets('--password=hunter2'), `--password=${REDACTED}`);
  t.equal(scrubSecrets('GITHUB_TOKEN=abc123'), `GITHUB_TOKEN=${REDACTED}`);
  t.equal(scrubSecrets('client_secret = "s3cr3t-value"'), `client_secret = "${REDACTED}"`);
  t.equal(scrubSecrets('API_KEY=abc&next=1'), `API_KEY=${REDACTED}&next=1`);
  t.equal(scrubSecrets('db_passwd=x'), `db_passwd=${REDACTED}`);
  t.equal(scrubSecrets('password: hunter22'), `password: ${REDACTED}`);
  t.equal(scrubSecrets('{"access_token": "abcd1234"}'), `{"access_token": "${REDACTED}"}`);
  t.equal(
    scrubSecrets('aws_secret_access_key: wJalrXUtnFEMI'),
    `aws_secret_access_key: ${REDACTED}`,
  );
  t.equal(scrubSecrets('private_key=abc'), `private_key=${REDACTED}`);
  t.equal(scrubSecrets('credentials: abcdef'), `credentials: ${REDACTED}`);
});

t.test('leaves ordinary log lines alone', async (t) => {
  const lines = [
    "src/a.ts(3,5): error TS2322: Type 'string' is not assignable to type 'number'.",
    "SyntaxError: Unexpected token '<'",
    "Parsing error: Unexpected token: ')'",
    'max_tokens: 4096',
    'Secret source: Actions',
    '  NODE_AUTH_TOKEN: ***',
    '  token: ***',
    'token: ;',
    'the disk-based task-runner finished',
    'pip install scikit-learn sk-learn',
    'Bearer tokens are checked by the gateway',
    'https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz',
    '-----BEGIN CERTIFICATE-----',
    'AKIA is a prefix',
    'eyJ alone',
  ];
  for (const line of lines) t.equal(scrubSecrets(line), line, line);
});

t.test('redacts private key blocks', async (t) => {
  const key = [
    '-----BEGIN RSA PRIVATE KEY-----',
    'Proc-Type: 4,ENCRYPTED',
    'MIIEowIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi',
    'Z1BjP5CE/Wm/Rr500P0RHMZDhSXiLVmdZ2a4nO4',
    '-----END RSA PRIVATE KEY-----',
  ].join('\n');
  t.equal(scrubSecrets(`before\n${key}\nafter`), `before\n${REDACTED}\nafter`);
  t.equal(
    scrubSecrets(
      `a -----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXk\\n-----END OPENSSH PRIVATE KEY----- z`,
    ),
    `a ${REDACTED} z`,
    'a key written with escaped newlines on one line',
  );
  t.equal(
    scrubSecrets(`${key}\nmid\n${key.replace('RSA', 'EC')}`),
    `${REDACTED}\nmid\n${REDACTED}`,
    'two keys',
  );
});

t.test('redacts a private key whose END marker was cut off', async (t) => {
  const truncated = [
    'log line',
    '-----BEGIN PRIVATE KEY-----',
    'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC',
    'BKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj',
    'Error: the deploy failed',
  ].join('\n');
  t.equal(scrubSecrets(truncated), `log line\n${REDACTED}\nError: the deploy failed`);
  t.equal(scrubSecrets('-----BEGIN PRIVATE KEY-----\nMIIEvQIBADAN'), REDACTED);
  t.equal(scrubSecrets('x -----BEGIN PRIVATE KEY-----MIIEvQIBADAN'), `x ${REDACTED}`);
  t.equal(
    scrubSecrets('-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY'),
    `${REDACTED}\n-----END PRIVATE KEY`,
    'an END marker without its closing dashes ends the key where the body does',
  );
});

t.test('is idempotent', async (t) => {
  const text = Object.values(TOKENS).join(' ') + ' Authorization: Bearer abcdefghijk password=x';
  const once = scrubSecrets(text);
  t.equal(scrubSecrets(once), once);
});

t.test('stays fast on hostile input', async (t) => {
  // A backtracking pattern would not finish on these within the test timeout.
  const n = 200_000;
  const inputs = [
    'a'.repeat(n),
    'a-'.repeat(n / 2),
    '://a:b'.repeat(n / 6),
    'password' + ' '.repeat(n),
    'eyJ' + 'a'.repeat(n),
    '-----BEGIN RSA PRIVATE KEY-----'.repeat(n / 32),
    '-----BEGIN '.repeat(n / 11),
    'token='.repeat(n / 6),
    'Authorization: '.repeat(n / 15),
    'sk-'.repeat(n / 3),
  ];
  for (const input of inputs) t.type(scrubSecrets(input), 'string');
});
