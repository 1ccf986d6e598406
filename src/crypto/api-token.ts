// Flowfix API tokens (architecture decision 5, security.md "API tokens").
//
// Format (42 ASCII characters):
//
//   ffx_ <32 random base62 chars> <6-char base62 CRC32 checksum>
//
//   random    32 characters drawn uniformly from the base62 alphabet by rejection sampling
//             (32 × log2(62) ≈ 190 bits)
//   checksum  CRC-32 (IEEE, as zlib) of the 32 random characters as ASCII, written in base62,
//             most significant digit first, left-padded with "0" to 6 characters
//             (62^6 > 2^32, so it always fits)
//   alphabet  0-9 A-Z a-z, in that order ("0" = 0, "A" = 10, "a" = 36)
//
// The prefix and checksum let leak scanners recognise a Flowfix token offline, and let
// parseApiToken reject garbage before any database query. Tokens are never stored: only the
// lookup prefix (first 12 random characters, indexed) and the SHA-256 hex of the whole token.
// Once the prefix is shown, 20 unknown characters (≈119 bits) remain secret.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const API_TOKEN_PREFIX = 'ffx_';
const RANDOM_CHARS = 32;
const CHECKSUM_CHARS = 6;
const LOOKUP_CHARS = 12;
export const API_TOKEN_LENGTH = API_TOKEN_PREFIX.length + RANDOM_CHARS + CHECKSUM_CHARS;

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const TOKEN_SHAPE = /^ffx_[0-9A-Za-z]{38}$/;
// 248 = 4 × 62: bytes below it map onto the alphabet evenly; the rest are discarded.
const UNBIASED_LIMIT = 248;

export interface GeneratedApiToken {
  /** The full token: shown once, never stored or logged. */
  token: string;
  /** First 12 characters after "ffx_": stored and indexed to find the token row. */
  lookupPrefix: string;
  /** SHA-256 hex of the whole token: the only stored form of the secret. */
  hash: string;
  /** Last 4 characters of the token, for display next to the prefix. */
  last4: string;
}

export interface ParsedApiToken {
  lookupPrefix: string;
  hash: string;
}

function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    // Twice what is needed: about 3 % of bytes are rejected, so one draw almost always suffices.
    for (const byte of randomBytes(length * 2)) {
      if (byte >= UNBIASED_LIMIT) continue;
      out += BASE62.charAt(byte % 62);
      if (out.length === length) break;
    }
  }
  return out;
}

function checksum(random: string): string {
  let value = crc32(random);
  let out = '';
  for (let i = 0; i < CHECKSUM_CHARS; i++) {
    out = BASE62.charAt(value % 62) + out;
    value = Math.floor(value / 62);
  }
  return out;
}

export function hashApiToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function generateApiToken(): GeneratedApiToken {
  const random = randomBase62(RANDOM_CHARS);
  const token = `${API_TOKEN_PREFIX}${random}${checksum(random)}`;
  return {
    token,
    lookupPrefix: random.slice(0, LOOKUP_CHARS),
    hash: hashApiToken(token),
    last4: token.slice(-4),
  };
}

/**
 * Checks a presented token's shape and checksum without any I/O. null means "not a Flowfix
 * token": answer it exactly like an unknown token (401, same message).
 */
export function parseApiToken(token: string): ParsedApiToken | null {
  if (typeof token !== 'string' || token.length !== API_TOKEN_LENGTH) return null;
  if (!TOKEN_SHAPE.test(token)) return null;
  const random = token.slice(API_TOKEN_PREFIX.length, API_TOKEN_PREFIX.length + RANDOM_CHARS);
  if (token.slice(-CHECKSUM_CHARS) !== checksum(random)) return null;
  return { lookupPrefix: random.slice(0, LOOKUP_CHARS), hash: hashApiToken(token) };
}

/** Constant-time comparison of two token hashes; different lengths or empty input never match. */
export function tokensMatch(hashA: string, hashB: string): boolean {
  if (typeof hashA !== 'string' || typeof hashB !== 'string') return false;
  const a = Buffer.from(hashA, 'utf8');
  const b = Buffer.from(hashB, 'utf8');
  // timingSafeEqual throws on a length mismatch; the length of a hash is not a secret.
  if (a.length === 0 || a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}
