import * as crypto from 'node:crypto';
import t from 'tap';
import {
  API_TOKEN_LENGTH,
  API_TOKEN_PREFIX,
  generateApiToken,
  hashApiToken,
  parseApiToken,
  tokensMatch,
} from '../../src/crypto/api-token.ts';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SHAPE = /^ffx_[0-9A-Za-z]{38}$/;

// An independent CRC-32 (IEEE, reflected, poly 0xEDB88320) — what a leak scanner would write —
// to show the documented checksum can be reproduced without Flowfix code.
function referenceCrc32(text: string): number {
  let crc = 0xffffffff;
  for (const byte of Buffer.from(text, 'ascii')) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function referenceChecksum(random: string): string {
  let value = referenceCrc32(random);
  let out = '';
  while (value > 0) {
    out = BASE62.charAt(value % 62) + out;
    value = Math.floor(value / 62);
  }
  return out.padStart(6, '0');
}

t.test('reference CRC-32 matches the standard check value', async (t) => {
  t.equal(referenceCrc32('123456789'), 0xcbf43926);
});

t.test('generated token: format, prefix, hash, last4', async (t) => {
  const { token, lookupPrefix, hash, last4 } = generateApiToken();
  t.equal(API_TOKEN_PREFIX, 'ffx_');
  t.equal(API_TOKEN_LENGTH, 42);
  t.equal(token.length, 42);
  t.match(token, SHAPE);
  t.equal(lookupPrefix, token.slice(4, 16));
  t.equal(lookupPrefix.length, 12);
  t.equal(hash, crypto.createHash('sha256').update(token).digest('hex'));
  t.match(hash, /^[0-9a-f]{64}$/);
  t.equal(last4, token.slice(-4));
  t.equal(last4.length, 4);
  t.equal(token.slice(-6), referenceChecksum(token.slice(4, 36)), 'checksum is reproducible');
  t.same(parseApiToken(token), { lookupPrefix, hash });
});

t.test('a hand-built token with a reference checksum parses', async (t) => {
  for (const random of ['0'.repeat(32), 'z'.repeat(32), BASE62.slice(0, 32), BASE62.slice(30)]) {
    const token = `ffx_${random}${referenceChecksum(random)}`;
    t.same(parseApiToken(token), { lookupPrefix: random.slice(0, 12), hash: hashApiToken(token) });
  }
  // a checksum that needs zero-padding: find a random part whose CRC is small
  let i = 0;
  while (referenceCrc32(String(i).padStart(32, '0')) >= 62 ** 5) i++;
  const random = String(i).padStart(32, '0');
  const padded = referenceChecksum(random);
  t.match(padded, /^0/);
  t.not(parseApiToken(`ffx_${random}${padded}`), null);
});

t.test('uniqueness and randomness', async (t) => {
  const tokens = Array.from({ length: 5000 }, () => generateApiToken());
  t.equal(new Set(tokens.map((x) => x.token)).size, tokens.length, 'tokens unique');
  t.equal(new Set(tokens.map((x) => x.lookupPrefix)).size, tokens.length, 'prefixes unique');
  t.equal(new Set(tokens.map((x) => x.hash)).size, tokens.length, 'hashes unique');
  const seen = new Set(tokens.flatMap((x) => [...x.token.slice(4, 36)]));
  t.equal(seen.size, 62, 'every base62 character occurs');
  for (const x of tokens.slice(0, 200)) t.not(parseApiToken(x.token), null);
});

t.test('random part is drawn without modulo bias (rejection sampling)', async (t) => {
  const draws: Buffer[] = [
    Buffer.alloc(64, 248), // every byte ≥ 248 is rejected: a second draw is needed
    Buffer.from([255, 247, ...Array.from({ length: 62 }, (_, i) => i)]),
  ];
  const calls: number[] = [];
  const mocked = await t.mockImport<typeof import('../../src/crypto/api-token.ts')>(
    '../../src/crypto/api-token.ts',
    {
      'node:crypto': {
        ...crypto,
        randomBytes: (size: number) => {
          calls.push(size);
          return draws.shift() ?? crypto.randomBytes(size);
        },
      },
    },
  );
  const { token } = mocked.generateApiToken();
  t.same(calls, [64, 64]);
  // 255 rejected, 247 → 247 % 62 = 61 → "z", then 0, 1, 2, … map straight onto the alphabet
  t.equal(token.slice(4, 36), `z${BASE62.slice(0, 31)}`);
  t.not(mocked.parseApiToken(token), null);
});

t.test('one changed character anywhere → null (every position, every alternative)', async (t) => {
  const { token } = generateApiToken();
  let rejected = 0;
  let tried = 0;
  for (let i = 0; i < token.length; i++) {
    for (const c of BASE62 + '_') {
      if (c === token[i]) continue;
      tried++;
      if (parseApiToken(token.slice(0, i) + c + token.slice(i + 1)) === null) rejected++;
    }
  }
  t.equal(rejected, tried, `${tried} single-character changes all rejected`);
});

t.test('two swapped neighbours → null', async (t) => {
  const { token } = generateApiToken();
  for (let i = 4; i < token.length - 1; i++) {
    if (token[i] === token[i + 1]) continue;
    const swapped = token.slice(0, i) + token[i + 1] + token[i] + token.slice(i + 2);
    t.equal(parseApiToken(swapped), null, `swap at ${i}`);
  }
});

t.test('wrong prefix, length or alphabet → null', async (t) => {
  const { token } = generateApiToken();
  const body = token.slice(4);
  const bad: unknown[] = [
    `ghp_${body}`,
    `FFX_${body}`,
    `ffx-${body}`,
    `ffx${body}x`,
    `ffx_${body}a`,
    token.slice(0, -1),
    `${token} `,
    ` ${token.slice(1)}`,
    '',
    'ffx_',
    `Bearer ${token}`,
    `ffx_${body.slice(0, 10)}-${body.slice(11)}`,
    `ffx_${body.slice(0, 10)}+${body.slice(11)}`,
    `ffx_${body.slice(0, 10)}é${body.slice(11)}`,
    `ffx_${body.slice(0, 37)}\n`,
    undefined,
    null,
    42,
    { toString: () => token },
  ];
  for (const candidate of bad) t.equal(parseApiToken(candidate as string), null);
});

t.test('hashApiToken is SHA-256 hex of the whole token', async (t) => {
  t.equal(hashApiToken('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  const { token, hash } = generateApiToken();
  t.equal(hashApiToken(token), hash);
});

t.test('tokensMatch: constant-time, length-checked', async (t) => {
  const a = generateApiToken();
  const b = generateApiToken();
  t.equal(tokensMatch(a.hash, a.hash), true);
  t.equal(tokensMatch(a.hash, hashApiToken(a.token)), true);
  t.equal(tokensMatch(a.hash, b.hash), false);
  t.equal(tokensMatch(a.hash, a.hash.slice(0, -1)), false, 'shorter');
  t.equal(tokensMatch(a.hash, `${a.hash}0`), false, 'longer');
  t.equal(tokensMatch('', ''), false, 'empty never matches');
  t.equal(tokensMatch('é', 'a'), false, 'same string length, different byte length');
  t.equal(tokensMatch(a.hash, a.hash.toUpperCase()), false);
  t.equal(tokensMatch(undefined as unknown as string, a.hash), false);
  t.equal(tokensMatch(a.hash, null as unknown as string), false);
});
