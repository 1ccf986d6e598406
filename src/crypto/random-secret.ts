// Random secrets for webhook secrets, session ids, OAuth state and PKCE verifiers: CSPRNG bytes
// as base64url (URL-, header- and cookie-safe, no padding). 32 bytes = 256 bits = 43 characters.
import { randomBytes } from 'node:crypto';

// Below 16 bytes (128 bits) a value is guessable enough to matter for the uses above; the upper
// bound only catches unit mix-ups (bits or characters passed as bytes).
const MIN_BYTES = 16;
const MAX_BYTES = 1024;

export function randomSecret(bytes = 32): string {
  if (!Number.isInteger(bytes) || bytes < MIN_BYTES || bytes > MAX_BYTES) {
    throw new RangeError(
      `randomSecret: bytes must be an integer from ${MIN_BYTES} to ${MAX_BYTES}, got ${bytes}`,
    );
  }
  return randomBytes(bytes).toString('base64url');
}
