// Stored webhook payloads: the JSON text exactly as received, gzipped in Flowfix (zlib's
// thread pool, level 3: ~50 µs and a fifth of the size for a 10 KB workflow_job payload).
// Postgres then stores bytes: no JSON to parse, no TOAST compression of its own, less WAL.
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

export function compressPayload(json: string): Promise<Buffer> {
  return gzipAsync(json, { level: 3 });
}

/** The stored payload's JSON text (null when not kept or past retention). */
export async function storedPayloadText(row: {
  payloadGz: Buffer | null;
  payload: unknown;
}): Promise<string | null> {
  if (row.payloadGz !== null) return (await gunzipAsync(row.payloadGz)).toString('utf8');
  // Recorded before payloads were gzipped (jsonb); retention removes these in time.
  return row.payload === null || row.payload === undefined ? null : JSON.stringify(row.payload);
}
