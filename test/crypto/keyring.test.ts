import { randomBytes } from 'node:crypto';
import t from 'tap';
import type { Test } from 'tap';
import { generateKeyringString, KeyringError, parseKeyring } from '../../src/crypto/keyring.ts';

const keyA = randomBytes(32);
const keyB = randomBytes(32);
const b64 = (key: Buffer) => key.toString('base64');

/** Every spelling of the key material that must never appear in an error message. */
function keySpellings(key: Buffer): string[] {
  return [
    key.toString('base64'),
    key.toString('base64').replace(/=+$/, ''),
    key.toString('base64url'),
    key.toString('hex'),
    // A fragment is a leak too.
    key.toString('base64').slice(0, 12),
  ];
}

function expectKeyringError(
  t: Test,
  value: string | undefined,
  pattern: RegExp,
  secrets: string[] = [],
): void {
  let error: unknown;
  try {
    parseKeyring(value);
  } catch (e) {
    error = e;
  }
  t.type(error, KeyringError, 'throws KeyringError');
  const message = (error as Error).message;
  t.match(message, pattern, 'says what is wrong');
  t.match(message, /ENCRYPTION_KEYS/, 'names the variable');
  t.ok(
    message.includes(
      `node -e "console.log('k1:' + require('crypto').randomBytes(32).toString('base64'))"`,
    ),
    'says how to generate a key',
  );
  t.equal((error as Error).name, 'KeyringError');
  for (const secret of secrets) t.notOk(message.includes(secret), 'no key material in message');
}

t.test('parses a single key (standard base64, padded)', async (t) => {
  const ring = parseKeyring(`k1:${b64(keyA)}`);
  t.equal(ring.primary.kid, 'k1');
  t.ok(ring.primary.key.equals(keyA));
  t.same([...ring.keys.keys()], ['k1']);
  t.ok(ring.keys.get('k1')?.equals(keyA));
});

t.test('first entry is primary; all keys decrypt', async (t) => {
  const ring = parseKeyring(`new-2025:${b64(keyB)},old_2024:${b64(keyA)}`);
  t.equal(ring.primary.kid, 'new-2025');
  t.ok(ring.primary.key.equals(keyB));
  t.same([...ring.keys.keys()], ['new-2025', 'old_2024']);
  t.ok(ring.keys.get('old_2024')?.equals(keyA));
});

t.test('accepts base64url, unpadded base64 and surrounding whitespace', async (t) => {
  // Force "-"/"_" to appear so the base64url branch is really exercised.
  const urlKey = Buffer.alloc(32, 0xfb);
  t.match(urlKey.toString('base64url'), /[-_]/);
  const ring = parseKeyring(
    `  k1 : ${urlKey.toString('base64url')} ,\n k2:${b64(keyA).replace(/=+$/, '')}\n`,
  );
  t.ok(ring.keys.get('k1')?.equals(urlKey));
  t.ok(ring.keys.get('k2')?.equals(keyA));
  t.equal(ring.primary.kid, 'k1');
});

t.test('accepts a 32-character key id', async (t) => {
  const kid = 'a'.repeat(32);
  t.equal(parseKeyring(`${kid}:${b64(keyA)}`).primary.kid, kid);
});

t.test('rejects a missing or empty value', async (t) => {
  expectKeyringError(t, undefined, /not set or empty/);
  expectKeyringError(t, '', /not set or empty/);
  expectKeyringError(t, '  \n ', /not set or empty/);
});

t.test('rejects an empty entry', async (t) => {
  expectKeyringError(t, `k1:${b64(keyA)},`, /entry 2 is empty/, keySpellings(keyA));
  expectKeyringError(t, `,k1:${b64(keyA)}`, /entry 1 is empty/, keySpellings(keyA));
});

t.test('rejects an entry without a colon, without echoing it', async (t) => {
  expectKeyringError(t, b64(keyA), /entry 1 has no ":"/, keySpellings(keyA));
  expectKeyringError(t, `k1:${b64(keyA)},${b64(keyB)}`, /entry 2 has no ":"/, [
    ...keySpellings(keyA),
    ...keySpellings(keyB),
  ]);
});

t.test('rejects bad key ids without echoing them', async (t) => {
  expectKeyringError(t, `:${b64(keyA)}`, /entry 1: the key id before ":" is missing/);
  // key and id swapped: the "id" is key material and must not be printed.
  expectKeyringError(
    t,
    `${b64(keyA)}:k1`,
    /entry 1: the key id is 44 characters long \(at most 32 allowed\)/,
    keySpellings(keyA),
  );
  const longKid = 'x'.repeat(33);
  expectKeyringError(t, `${longKid}:${b64(keyA)}`, /33 characters long/, [longKid]);
  expectKeyringError(t, `k.1:${b64(keyA)}`, /may only contain A-Z, a-z, 0-9, "_" and "-"/, ['k.1']);
  expectKeyringError(t, `k1:${b64(keyA)},k/2:${b64(keyB)}`, /entry 2: the key id may only/, [
    'k/2',
    ...keySpellings(keyB),
  ]);
});

t.test('rejects duplicate key ids', async (t) => {
  expectKeyringError(
    t,
    `k1:${b64(keyA)},k2:${b64(keyB)},k1:${b64(keyB)}`,
    /key id "k1" is used by entries 1 and 3/,
    [...keySpellings(keyA), ...keySpellings(keyB)],
  );
});

t.test('rejects a missing key', async (t) => {
  expectKeyringError(t, 'k1:', /entry 1 \(key id "k1"\): the key after ":" is missing/);
  expectKeyringError(t, 'k1:   ', /the key after ":" is missing/);
});

t.test('rejects non-base64 characters', async (t) => {
  const bad = `${b64(keyA).slice(0, 20)}*${b64(keyA).slice(21)}`;
  expectKeyringError(t, `k1:${bad}`, /entry 1 \(key id "k1"\): the key is not base64/, [
    bad,
    ...keySpellings(keyA),
  ]);
  // internal whitespace, padding in the middle, too much padding
  expectKeyringError(t, `k1:${b64(keyA).slice(0, 20)} ${b64(keyA).slice(20)}`, /is not base64/);
  expectKeyringError(t, `k1:AAAA=AAA`, /is not base64/);
  expectKeyringError(t, `k1:${b64(keyA)}==`, /is not base64/, keySpellings(keyA));
});

t.test('rejects a key mixing base64 and base64url alphabets', async (t) => {
  const mixed = `+_${'A'.repeat(41)}`;
  expectKeyringError(t, `k1:${mixed}`, /mixes the base64 \("\+", "\/"\) and base64url/, [mixed]);
});

t.test('rejects misplaced padding', async (t) => {
  // 42 characters + "=" is 43: padding that cannot be right.
  const key = `${b64(keyA).slice(0, 42)}=`;
  expectKeyringError(t, `k1:${key}`, /"=" padding but its length is not a multiple of 4/, [
    ...keySpellings(keyA),
  ]);
});

t.test('rejects non-canonical base64 (dangling character, non-zero trailing bits)', async (t) => {
  // 41 characters: the last one cannot form a byte and would be silently dropped.
  expectKeyringError(t, `k1:${b64(keyA).slice(0, 41)}`, /not valid base64 \(truncated/, [
    ...keySpellings(keyA),
  ]);
  // "B" instead of "A" as the 43rd character sets trailing bits that decode to the same bytes.
  const zeros = Buffer.alloc(32).toString('base64').replace(/=+$/, '');
  t.equal(Buffer.from(`${zeros.slice(0, 42)}B`, 'base64').length, 32);
  expectKeyringError(t, `k1:${zeros.slice(0, 42)}B`, /not valid base64/);
});

t.test('rejects keys that are not 32 bytes', async (t) => {
  const short = randomBytes(16);
  expectKeyringError(
    t,
    `k1:${b64(short)}`,
    /entry 1 \(key id "k1"\): the key decodes to 16 bytes; it must be exactly 32 random bytes/,
    keySpellings(short),
  );
  const long = randomBytes(33);
  expectKeyringError(t, `k1:${b64(keyA)},k2:${b64(long)}`, /entry 2 \(key id "k2"\).*33 bytes/, [
    ...keySpellings(keyA),
    ...keySpellings(long),
  ]);
});

t.test('generateKeyringString makes a parseable single-key ring', async (t) => {
  const value = generateKeyringString();
  t.match(value, /^k1:[A-Za-z0-9+/]{43}=$/);
  const ring = parseKeyring(value);
  t.equal(ring.primary.kid, 'k1');
  t.equal(ring.primary.key.length, 32);

  const other = generateKeyringString('local-embedded');
  t.equal(parseKeyring(other).primary.kid, 'local-embedded');
  t.not(other.split(':')[1], value.split(':')[1], 'fresh random key each time');

  t.throws(() => generateKeyringString('bad id'), KeyringError);
  t.throws(() => generateKeyringString(''), /cannot generate a key: the key id/);
});
