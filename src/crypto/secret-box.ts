// Secret box: encryption of secrets at rest — GitHub tokens, webhook secrets, provider keys
// (architecture decision 4, security.md "Secrets at rest").
//
// Stored format (ASCII, safe in any text column):
//
//   v1.<kid>.<iv>.<ciphertext>.<tag>
//
//   v1          format version, so a future scheme can coexist with stored values
//   kid         key id from the keyring ([A-Za-z0-9_-]{1,32}) — selects the decryption key
//   iv          12 random bytes, fresh for every value (never derived, never reused)
//   ciphertext  AES-256-GCM of the UTF-8 plaintext (an empty segment for an empty string)
//   tag         the 16-byte GCM authentication tag
//
// iv, ciphertext and tag are base64url without padding and must be canonical, so every stored
// value has exactly one spelling; anything else is rejected as malformed before any decryption.
//
// Additional authenticated data binds a value to where it lives, so a ciphertext copied to
// another row, column or table fails authentication instead of decrypting:
//
//   "ffx-secret-box" 0x00, then for each of version, kid, table, column, owner:
//   uint32 big-endian byte length + UTF-8 bytes
//
// The length prefixes make the encoding injective (("a|b","c") and ("a","b|c") differ). Version
// and kid are bound too, so relabelling a value with another key id or format version fails.
//
// Errors never contain plaintext, key material or the stored value: only the failure reason, the
// table/column and, for an unknown key, the key id.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { KEY_BYTES, KID_PATTERN } from './keyring.ts';
import type { Keyring } from './keyring.ts';

/** Where a value is stored. owner is the owning user's id (or the row id for unowned rows). */
export interface SecretContext {
  table: string;
  column: string;
  owner: string;
}

export type DecryptFailure = 'malformed' | 'unknown_key' | 'auth_failed';

export class DecryptError extends Error {
  override name = 'DecryptError';
  readonly reason: DecryptFailure;
  /** The key id of the stored value, when it could be read. */
  readonly kid: string | undefined;

  constructor(reason: DecryptFailure, message: string, kid?: string) {
    super(message);
    this.reason = reason;
    this.kid = kid;
  }
}

export interface SecretBox {
  /** Encrypts with the primary key; the result is bound to `aad`. */
  encrypt(plaintext: string, aad: SecretContext): string;
  /** Throws DecryptError: malformed, unknown_key, or auth_failed (tampered or wrong context). */
  decrypt(stored: string, aad: SecretContext): string;
  /** True when the value was written under a key other than the primary (re-encrypt it). */
  needsRotation(stored: string): boolean;
  /** The key id a stored value was written under. Throws DecryptError('malformed'). */
  kidOf(stored: string): string;
}

const VERSION = 'v1';
const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const AAD_LABEL = Buffer.from('ffx-secret-box\0', 'utf8');
// A lone UTF-16 surrogate cannot be encoded as UTF-8; it would come back as U+FFFD.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

interface Parsed {
  kid: string;
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

function malformed(problem: string): DecryptError {
  return new DecryptError('malformed', `Stored secret is malformed: ${problem}`);
}

function decodeSegment(segment: string, name: string, bytes?: number): Buffer {
  // Node's decoder skips foreign characters, padding and trailing bits; re-encoding must give
  // back the exact input, so one value has one spelling and a changed character is never ignored.
  const decoded = Buffer.from(segment, 'base64url');
  if (decoded.toString('base64url') !== segment) {
    throw malformed(`the ${name} is not canonical base64url`);
  }
  if (bytes !== undefined && decoded.length !== bytes) {
    throw malformed(`the ${name} must be ${bytes} bytes, found ${decoded.length}`);
  }
  return decoded;
}

function parse(stored: string): Parsed {
  if (typeof stored !== 'string') throw malformed('not a string');
  const parts = stored.split('.');
  if (parts.length !== 5) {
    throw malformed(`expected 5 "."-separated parts, found ${parts.length}`);
  }
  const [version, kid, iv, ciphertext, tag] = parts as [string, string, string, string, string];
  // The version segment is not echoed: a plaintext secret stored by mistake could be in it.
  if (version !== VERSION) throw malformed(`unsupported format version (expected "${VERSION}")`);
  if (!KID_PATTERN.test(kid)) throw malformed('the key id is invalid');
  return {
    kid,
    iv: decodeSegment(iv, 'IV', IV_BYTES),
    ciphertext: decodeSegment(ciphertext, 'ciphertext'),
    tag: decodeSegment(tag, 'tag', TAG_BYTES),
  };
}

function assertContext(aad: SecretContext): void {
  for (const field of ['table', 'column', 'owner'] as const) {
    const value: unknown = aad?.[field];
    if (typeof value !== 'string' || value === '') {
      throw new TypeError(`SecretContext.${field} must be a non-empty string`);
    }
  }
}

function encodeAad(kid: string, aad: SecretContext): Buffer {
  const parts = [VERSION, kid, aad.table, aad.column, aad.owner].map((part) => {
    const bytes = Buffer.from(part, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    return Buffer.concat([length, bytes]);
  });
  return Buffer.concat([AAD_LABEL, ...parts]);
}

export function createSecretBox(keyring: Keyring): SecretBox {
  // Copy the map so later changes to the caller's keyring cannot change what this box trusts.
  const keys = new Map(keyring.keys);
  for (const [kid, key] of keys) {
    if (!KID_PATTERN.test(kid)) throw new TypeError('createSecretBox: a key id is invalid');
    if (key.length !== KEY_BYTES) {
      throw new TypeError(`createSecretBox: key "${kid}" is ${key.length} bytes, not ${KEY_BYTES}`);
    }
  }
  const primaryKid = keyring.primary.kid;
  const primaryKey = keys.get(primaryKid);
  if (primaryKey === undefined || !primaryKey.equals(keyring.primary.key)) {
    throw new TypeError('createSecretBox: the primary key must be one of the keyring keys');
  }

  return {
    encrypt(plaintext, aad) {
      assertContext(aad);
      if (typeof plaintext !== 'string' || LONE_SURROGATE.test(plaintext)) {
        throw new TypeError('SecretBox.encrypt: plaintext must be a well-formed string');
      }
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv(ALGORITHM, primaryKey, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(encodeAad(primaryKid, aad));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      const encoded = [iv, ciphertext, tag].map((part) => part.toString('base64url'));
      return [VERSION, primaryKid, ...encoded].join('.');
    },

    decrypt(stored, aad) {
      assertContext(aad);
      const { kid, iv, ciphertext, tag } = parse(stored);
      const key = keys.get(kid);
      if (key === undefined) {
        throw new DecryptError(
          'unknown_key',
          `Stored secret uses key id "${kid}", which is not in ENCRYPTION_KEYS ` +
            '(was an old key removed before the re-encryption finished?)',
          kid,
        );
      }
      // authTagLength pins the tag size: without it GCM would also accept truncated tags.
      const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(encodeAad(kid, aad));
      decipher.setAuthTag(tag);
      try {
        return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
      } catch {
        throw new DecryptError(
          'auth_failed',
          `Stored secret failed authentication for ${aad.table}.${aad.column}: it was altered, ` +
            `copied from another row or column, or the key with id "${kid}" has changed`,
          kid,
        );
      }
    },

    needsRotation(stored) {
      return parse(stored).kid !== primaryKid;
    },

    kidOf(stored) {
      return parse(stored).kid;
    },
  };
}
