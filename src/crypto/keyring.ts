// Keyring for secrets at rest (architecture decision 4): parses ENCRYPTION_KEYS.
//
// Format: `kid:base64key[,kid2:base64key2,...]`. The FIRST entry is the primary key: every new
// value is encrypted with it. The other entries only decrypt values written before a rotation.
// To rotate: put a new entry first, keep the old ones, run the re-encrypt command (it uses
// SecretBox.needsRotation), then remove the old entries.
//
//   kid  1–32 characters of [A-Za-z0-9_-]. It is written into every stored value, so it can never
//        contain the '.' separator of the secret-box format.
//   key  exactly 32 random bytes (AES-256), standard base64 or base64url, padded or not, in its
//        canonical spelling (a truncated or hand-edited key is rejected rather than silently
//        decoded to different bytes).
//
// Error messages name the entry by position — and by key id once the id is known to be valid —
// but never echo key text: they go to logs and terminals, and a swapped `key:kid` would put the
// key where the id is expected.
import { randomBytes } from 'node:crypto';

export interface Keyring {
  primary: { kid: string; key: Buffer };
  keys: Map<string, Buffer>;
}

export const KEY_BYTES = 32;
export const KID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;

const FORMAT_HINT =
  'Expected "kid:base64key[,kid2:base64key2]" with the primary (newest) key first. ' +
  'Generate a key with: ' +
  `node -e "console.log('k1:' + require('crypto').randomBytes(32).toString('base64'))"`;

export class KeyringError extends Error {
  override name = 'KeyringError';

  constructor(problem: string) {
    super(`Invalid ENCRYPTION_KEYS: ${problem}. ${FORMAT_HINT}`);
  }
}

/** Why a key id is invalid, described without repeating it. */
function describeBadKid(kid: string): string {
  if (kid === '') return 'the key id before ":" is missing';
  if (kid.length > 32) return `the key id is ${kid.length} characters long (at most 32 allowed)`;
  return 'the key id may only contain A-Z, a-z, 0-9, "_" and "-"';
}

/** Decodes a key, or returns what is wrong with it (never the key itself). */
function decodeKey(encoded: string): Buffer | string {
  if (encoded === '') return 'the key after ":" is missing';
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(encoded)) {
    return 'the key is not base64 (allowed: A-Z a-z 0-9 + / or - _, then optional "=" padding)';
  }
  const body = encoded.replace(/=+$/, '');
  const urlAlphabet = /[-_]/.test(body);
  if (urlAlphabet && /[+/]/.test(body)) {
    return 'the key mixes the base64 ("+", "/") and base64url ("-", "_") alphabets';
  }
  if (body.length !== encoded.length && encoded.length % 4 !== 0) {
    return 'the key has "=" padding but its length is not a multiple of 4';
  }
  const key = Buffer.from(body, urlAlphabet ? 'base64url' : 'base64');
  // Buffer.from ignores a dangling character and non-zero trailing bits; re-encoding exposes both.
  const canonical = key.toString(urlAlphabet ? 'base64url' : 'base64').replace(/=+$/, '');
  if (canonical !== body) return 'the key is not valid base64 (truncated or altered?)';
  if (key.length !== KEY_BYTES) {
    return `the key decodes to ${key.length} bytes; it must be exactly ${KEY_BYTES} random bytes`;
  }
  return key;
}

/**
 * Parses ENCRYPTION_KEYS. Throws KeyringError (which names the entry at fault) on any problem:
 * the caller must refuse to start, never fall back to storing plaintext.
 */
export function parseKeyring(value: string | undefined): Keyring {
  if (value === undefined || value.trim() === '') {
    throw new KeyringError('it is not set or empty');
  }
  // split() always returns at least one element, so the tuple type is exact.
  const [first, ...rest] = value.split(',') as [string, ...string[]];
  const keys = new Map<string, Buffer>();
  const positions = new Map<string, number>();

  const addEntry = (raw: string, n: number): Keyring['primary'] => {
    const entry = raw.trim();
    if (entry === '') throw new KeyringError(`entry ${n} is empty (stray comma?)`);
    const colon = entry.indexOf(':');
    if (colon === -1) {
      throw new KeyringError(`entry ${n} has no ":" between the key id and the key`);
    }
    const kid = entry.slice(0, colon).trim();
    if (!KID_PATTERN.test(kid)) throw new KeyringError(`entry ${n}: ${describeBadKid(kid)}`);
    const seenAt = positions.get(kid);
    if (seenAt !== undefined) {
      throw new KeyringError(`key id "${kid}" is used by entries ${seenAt} and ${n}`);
    }
    const key = decodeKey(entry.slice(colon + 1).trim());
    if (typeof key === 'string') throw new KeyringError(`entry ${n} (key id "${kid}"): ${key}`);
    positions.set(kid, n);
    keys.set(kid, key);
    return { kid, key };
  };

  const primary = addEntry(first, 1);
  rest.forEach((raw, index) => addEntry(raw, index + 2));
  return { primary, keys };
}

/**
 * A fresh single-key ENCRYPTION_KEYS value (`kid:base64key`), for the embedded mode's local
 * keyring and for tests.
 */
export function generateKeyringString(kid = 'k1'): string {
  if (!KID_PATTERN.test(kid))
    throw new KeyringError(`cannot generate a key: ${describeBadKid(kid)}`);
  return `${kid}:${randomBytes(KEY_BYTES).toString('base64')}`;
}
