import { randomBytes } from 'node:crypto';
import t from 'tap';
import type { Test } from 'tap';
import { parseKeyring } from '../../src/crypto/keyring.ts';
import type { Keyring } from '../../src/crypto/keyring.ts';
import { createSecretBox, DecryptError } from '../../src/crypto/secret-box.ts';
import type { DecryptFailure, SecretContext } from '../../src/crypto/secret-box.ts';

const keyOld = randomBytes(32);
const keyNew = randomBytes(32);
const ringOf = (...entries: [string, Buffer][]): Keyring =>
  parseKeyring(entries.map(([kid, key]) => `${kid}:${key.toString('base64')}`).join(','));

const ctx: SecretContext = { table: 'users', column: 'github_token', owner: 'user-1' };
const PLAINTEXT = 'ghu_16C7e42F292c6912E7710c838347Ae178B4a';
const STORED_SHAPE =
  /^v1\.[A-Za-z0-9_-]{1,32}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{22}$/;

/** Everything that must never show up in an error message. */
const forbidden = [
  PLAINTEXT,
  keyOld.toString('base64'),
  keyOld.toString('hex'),
  keyNew.toString('base64'),
  keyNew.toString('hex'),
];

function decryptError(fn: () => unknown): DecryptError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DecryptError) return error;
    throw error;
  }
  throw new Error('expected a DecryptError, but the call succeeded');
}

function expectFailure(
  t: Test,
  fn: () => unknown,
  reason: DecryptFailure,
  extra: string[] = [],
): DecryptError {
  const error = decryptError(fn);
  t.equal(error.reason, reason, `reason is ${reason}`);
  t.equal(error.name, 'DecryptError');
  for (const secret of [...forbidden, ...extra]) {
    t.notOk(error.message.includes(secret), 'no secret in the message');
  }
  return error;
}

type Segment = 'iv' | 'ciphertext' | 'tag';
const SEGMENT_INDEX: Record<Segment, number> = { iv: 2, ciphertext: 3, tag: 4 };

function segmentBytes(stored: string, segment: Segment): Buffer {
  return Buffer.from(stored.split('.')[SEGMENT_INDEX[segment]] ?? '', 'base64url');
}

function withSegment(stored: string, segment: Segment, value: string): string {
  const parts = stored.split('.');
  parts[SEGMENT_INDEX[segment]] = value;
  return parts.join('.');
}

function flipBit(stored: string, segment: Segment, bit: number): string {
  const bytes = segmentBytes(stored, segment);
  bytes[bit >> 3] = (bytes[bit >> 3] ?? 0) ^ (1 << (bit & 7));
  return withSegment(stored, segment, bytes.toString('base64url'));
}

const box = createSecretBox(ringOf(['k1', keyOld]));

t.test('round trip', async (t) => {
  for (const plaintext of [PLAINTEXT, '', 'ä € 𝄞 🙂', 'x'.repeat(100_000), 'line\nbreak\0nul']) {
    const stored = box.encrypt(plaintext, ctx);
    t.match(stored, STORED_SHAPE, 'documented format');
    t.notOk(plaintext !== '' && stored.includes(plaintext), 'plaintext not visible');
    t.equal(box.decrypt(stored, { ...ctx }), plaintext);
  }
  t.equal(box.encrypt('', ctx).split('.')[3], '', 'empty plaintext, empty ciphertext segment');
});

t.test('fresh IV for every value', async (t) => {
  const values = Array.from({ length: 200 }, () => box.encrypt(PLAINTEXT, ctx));
  t.equal(new Set(values).size, values.length, 'ciphertexts differ');
  t.equal(new Set(values.map((v) => v.split('.')[2])).size, values.length, 'IVs differ');
  t.equal(segmentBytes(values[0] ?? '', 'iv').length, 12);
  t.equal(segmentBytes(values[0] ?? '', 'tag').length, 16);
});

t.test('every flipped bit in IV, ciphertext or tag → auth_failed', async (t) => {
  const stored = box.encrypt(PLAINTEXT, ctx);
  for (const segment of ['iv', 'ciphertext', 'tag'] as const) {
    const bits = segmentBytes(stored, segment).length * 8;
    let failures = 0;
    for (let bit = 0; bit < bits; bit++) {
      const error = decryptError(() => box.decrypt(flipBit(stored, segment, bit), ctx));
      if (error.reason === 'auth_failed') failures++;
    }
    t.equal(failures, bits, `${segment}: all ${bits} single-bit flips rejected`);
  }
  expectFailure(t, () => box.decrypt(flipBit(stored, 'tag', 5), ctx), 'auth_failed');
});

t.test('any changed character is rejected, never decrypted', async (t) => {
  const stored = box.encrypt(PLAINTEXT, ctx);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const start = stored.indexOf('.', 3) + 1; // after "v1.k1."
  let rejected = 0;
  let checked = 0;
  for (let i = start; i < stored.length; i++) {
    if (stored[i] === '.') continue;
    const other = alphabet[(alphabet.indexOf(stored[i] ?? 'A') + 1) % 64] ?? 'A';
    checked++;
    // a non-canonical spelling is "malformed", a changed byte is "auth_failed": both refuse.
    const error = decryptError(() =>
      box.decrypt(stored.slice(0, i) + other + stored.slice(i + 1), ctx),
    );
    if (error.reason === 'auth_failed' || error.reason === 'malformed') rejected++;
  }
  t.equal(rejected, checked);
});

t.test('authenticated data binds the value to table, column and owner', async (t) => {
  const stored = box.encrypt(PLAINTEXT, ctx);
  const error = expectFailure(
    t,
    () => box.decrypt(stored, { ...ctx, owner: 'user-2' }),
    'auth_failed',
  );
  t.match(error.message, /users\.github_token/, 'names where it failed');
  t.equal(error.kid, 'k1');
  expectFailure(t, () => box.decrypt(stored, { ...ctx, column: 'refresh_token' }), 'auth_failed');
  expectFailure(t, () => box.decrypt(stored, { ...ctx, table: 'connections' }), 'auth_failed');
  expectFailure(t, () => box.decrypt(stored, { ...ctx, owner: 'user-10' }), 'auth_failed');
});

t.test('fields cannot be shifted across boundaries', async (t) => {
  const stored = box.encrypt(PLAINTEXT, { table: 'ab', column: 'c', owner: 'd' });
  expectFailure(
    t,
    () => box.decrypt(stored, { table: 'a', column: 'bc', owner: 'd' }),
    'auth_failed',
  );
  const piped = box.encrypt(PLAINTEXT, { table: 't|c', column: 'x', owner: 'o' });
  expectFailure(
    t,
    () => box.decrypt(piped, { table: 't', column: 'c|x', owner: 'o' }),
    'auth_failed',
  );
  t.equal(box.decrypt(piped, { table: 't|c', column: 'x', owner: 'o' }), PLAINTEXT);
});

t.test('the key id is authenticated: relabelling fails even with the same key bytes', async (t) => {
  const twin = createSecretBox(ringOf(['k1', keyOld], ['k2', keyOld]));
  const stored = twin.encrypt(PLAINTEXT, ctx);
  t.equal(twin.kidOf(stored), 'k1');
  const relabelled = stored.replace(/^v1\.k1\./, 'v1.k2.');
  expectFailure(t, () => twin.decrypt(relabelled, ctx), 'auth_failed');
});

t.test('a different key under the same id → auth_failed', async (t) => {
  const stored = box.encrypt(PLAINTEXT, ctx);
  const impostor = createSecretBox(ringOf(['k1', keyNew]));
  expectFailure(t, () => impostor.decrypt(stored, ctx), 'auth_failed');
});

t.test('unknown key id → unknown_key naming it', async (t) => {
  const stored = createSecretBox(ringOf(['retired-2023', keyOld])).encrypt(PLAINTEXT, ctx);
  const current = createSecretBox(ringOf(['k2', keyNew]));
  const error = expectFailure(t, () => current.decrypt(stored, ctx), 'unknown_key');
  t.match(error.message, /key id "retired-2023"/);
  t.match(error.message, /ENCRYPTION_KEYS/);
  t.equal(error.kid, 'retired-2023');
});

t.test('rotation: old values decrypt, need rotation, re-encrypt under the primary', async (t) => {
  const before = createSecretBox(ringOf(['k1', keyOld]));
  const stored = before.encrypt(PLAINTEXT, ctx);
  t.equal(before.needsRotation(stored), false, 'written under the primary');

  const after = createSecretBox(ringOf(['k2', keyNew], ['k1', keyOld]));
  t.equal(after.kidOf(stored), 'k1');
  t.equal(after.needsRotation(stored), true);
  const plaintext = after.decrypt(stored, ctx);
  t.equal(plaintext, PLAINTEXT, 'old key still decrypts');

  const rotated = after.encrypt(plaintext, ctx);
  t.equal(after.kidOf(rotated), 'k2', 'new writes use the primary');
  t.equal(after.needsRotation(rotated), false);
  t.equal(after.decrypt(rotated, ctx), PLAINTEXT);

  // Once every value is rotated, the old key can go.
  const final = createSecretBox(ringOf(['k2', keyNew]));
  t.equal(final.decrypt(rotated, ctx), PLAINTEXT);
  expectFailure(t, () => final.decrypt(stored, ctx), 'unknown_key');
});

t.test('malformed stored values', async (t) => {
  const good = box.encrypt(PLAINTEXT, ctx);
  const [, , iv = '', ciphertext = '', tag = ''] = good.split('.');
  const cases: [string, unknown, RegExp][] = [
    ['not a string', 42, /not a string/],
    ['null', null, /not a string/],
    ['empty', '', /expected 5 "\."-separated parts, found 1/],
    ['plaintext stored by mistake', PLAINTEXT, /found 1/],
    ['too few parts', `v1.k1.${iv}.${ciphertext}`, /found 4/],
    ['too many parts', `${good}.x`, /found 6/],
    ['other version', `v2.k1.${iv}.${ciphertext}.${tag}`, /unsupported format version/],
    ['secret in version slot', `${PLAINTEXT}.k1.${iv}.${ciphertext}.${tag}`, /unsupported/],
    ['empty key id', `v1..${iv}.${ciphertext}.${tag}`, /key id is invalid/],
    ['bad key id', `v1.k!1.${iv}.${ciphertext}.${tag}`, /key id is invalid/],
    ['long key id', `v1.${'k'.repeat(33)}.${iv}.${ciphertext}.${tag}`, /key id is invalid/],
    [
      'short IV',
      withSegment(good, 'iv', segmentBytes(good, 'iv').subarray(0, 11).toString('base64url')),
      /IV must be 12 bytes, found 11/,
    ],
    ['long IV', withSegment(good, 'iv', `${iv}AAAA`), /IV must be 12 bytes, found 15/],
    ['empty IV', withSegment(good, 'iv', ''), /IV must be 12 bytes, found 0/],
    ['IV with padding', withSegment(good, 'iv', `${iv}==`), /IV is not canonical base64url/],
    ['IV standard base64', withSegment(good, 'iv', `+/${iv.slice(2)}`), /IV is not canonical/],
    ['IV with space', withSegment(good, 'iv', ` ${iv}`), /IV is not canonical/],
    ['truncated tag', withSegment(good, 'tag', tag.slice(0, 20)), /tag must be 16 bytes, found 15/],
    ['empty tag', withSegment(good, 'tag', ''), /tag must be 16 bytes, found 0/],
    ['tag non-canonical', withSegment(good, 'tag', `${tag.slice(0, 21)}B`), /tag is not canonical/],
    // 3 more characters leave one that cannot form a byte (length % 4 === 1)
    ['ciphertext dangling', withSegment(good, 'ciphertext', `${ciphertext}AAA`), /ciphertext/],
    ['ciphertext bad char', withSegment(good, 'ciphertext', `*${ciphertext}`), /ciphertext/],
  ];
  t.equal((ciphertext.length + 3) % 4, 1, 'dangling fixture really dangles');
  // last char of a 16-byte value carries 4 unused bits: only A, Q, g, w are canonical
  t.match(tag, /[AQgw]$/);
  for (const [name, stored, pattern] of cases) {
    t.test(name, async (t) => {
      const error = expectFailure(t, () => box.decrypt(stored as string, ctx), 'malformed', [good]);
      t.match(error.message, /^Stored secret is malformed: /);
      t.match(error.message, pattern);
      t.equal(error.kid, undefined);
      t.throws(() => box.needsRotation(stored as string), DecryptError);
      t.throws(() => box.kidOf(stored as string), DecryptError);
    });
  }
});

t.test('context and plaintext are validated (programmer errors)', async (t) => {
  const stored = box.encrypt(PLAINTEXT, ctx);
  for (const field of ['table', 'column', 'owner'] as const) {
    const empty = { ...ctx, [field]: '' };
    t.throws(() => box.encrypt(PLAINTEXT, empty), {
      name: 'TypeError',
      message: `SecretContext.${field} must be a non-empty string`,
    });
    t.throws(() => box.decrypt(stored, empty), TypeError);
    const numeric = { ...ctx, [field]: 7 } as unknown as SecretContext;
    t.throws(() => box.encrypt(PLAINTEXT, numeric), TypeError);
  }
  t.throws(() => box.encrypt(PLAINTEXT, undefined as unknown as SecretContext), TypeError);
  t.throws(() => box.decrypt(stored, {} as SecretContext), TypeError);

  t.throws(() => box.encrypt(42 as unknown as string, ctx), {
    name: 'TypeError',
    message: 'SecretBox.encrypt: plaintext must be a well-formed string',
  });
  t.throws(() => box.encrypt('broken \uD800 surrogate', ctx), TypeError);
  t.throws(() => box.encrypt('\uDC00 lone low', ctx), TypeError);
  t.equal(box.decrypt(box.encrypt('pair \uD83D\uDE00', ctx), ctx), 'pair \uD83D\uDE00');
});

t.test('createSecretBox validates a hand-built keyring', async (t) => {
  const good = ringOf(['k1', keyOld], ['k2', keyNew]);
  t.throws(() => createSecretBox({ ...good, keys: new Map([...good.keys, ['bad.id', keyNew]]) }), {
    name: 'TypeError',
    message: 'createSecretBox: a key id is invalid',
  });
  const err = t.throws(
    () => createSecretBox({ ...good, keys: new Map([...good.keys, ['k3', randomBytes(16)]]) }),
    { message: 'createSecretBox: key "k3" is 16 bytes, not 32' },
  );
  t.ok(err);
  t.throws(() => createSecretBox({ primary: { kid: 'k9', key: keyOld }, keys: good.keys }), {
    message: 'createSecretBox: the primary key must be one of the keyring keys',
  });
  t.throws(() => createSecretBox({ primary: { kid: 'k1', key: keyNew }, keys: good.keys }), {
    message: 'createSecretBox: the primary key must be one of the keyring keys',
  });
});

t.test("later changes to the caller's keyring do not affect the box", async (t) => {
  const ring = ringOf(['k1', keyOld], ['k2', keyNew]);
  const pinned = createSecretBox(ring);
  const stored = createSecretBox(ringOf(['k2', keyNew])).encrypt(PLAINTEXT, ctx);
  ring.keys.delete('k2');
  t.equal(pinned.decrypt(stored, ctx), PLAINTEXT);
});
