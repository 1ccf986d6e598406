// X-Hub-Signature-256 over the exact bytes received, before anything parses them. The
// header must be `sha256=` + 64 lowercase hex digits (GitHub's form): a missing, sha1-only,
// wrong-length or non-hex value fails without computing anything. @octokit/webhooks-methods
// compares in constant time; it takes text, so the bytes must be valid UTF-8 — then
// decoding and its re-encoding are exact and the HMAC covers precisely what was sent.
import { isUtf8 } from 'node:buffer';
import { verify } from '@octokit/webhooks-methods';

const SIGNATURE = /^sha256=[0-9a-f]{64}$/;

/** The body as text when one of the secrets signed it, otherwise null. */
export async function verifySignature(
  secrets: readonly string[],
  body: Buffer,
  header: string | string[] | undefined,
): Promise<string | null> {
  if (typeof header !== 'string' || header.length !== 71 || !SIGNATURE.test(header)) return null;
  if (body.length === 0 || !isUtf8(body)) return null;
  const text = body.toString('utf8');
  for (const secret of secrets) {
    if (secret !== '' && (await verify(secret, text, header))) return text;
  }
  return null;
}
