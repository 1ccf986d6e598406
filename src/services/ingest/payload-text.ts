// Stored webhook payloads, read back: the JSON text exactly as received. Flowfix stores it
// as text (payload_text, compressed by Postgres); rows recorded by earlier versions hold it
// gzipped (payload_gz) or, older still, as jsonb (payload). Retention drops all three.
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';

const gunzipAsync = promisify(gunzip);

/** The stored payload's JSON text (null when not kept or past retention). */
export async function storedPayloadText(row: {
  payloadText: string | null;
  payloadGz: Buffer | null;
  payload: unknown;
}): Promise<string | null> {
  if (row.payloadText !== null) return row.payloadText;
  if (row.payloadGz !== null) return (await gunzipAsync(row.payloadGz)).toString('utf8');
  return row.payload === null || row.payload === undefined ? null : JSON.stringify(row.payload);
}
