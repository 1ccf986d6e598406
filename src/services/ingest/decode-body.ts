// A verified webhook body → the payload's JSON text and object. GitHub sends JSON, or, for
// hooks left on its default encoding, a form with the JSON in the `payload` field.
import { asObject } from './payload-rows.ts';

export type Decoded =
  { ok: true; json: string; payload: Record<string, unknown> } | { ok: false; error: string };

export function decodeWebhookBody(text: string, contentType: string | undefined): Decoded {
  let json = text;
  if ((contentType ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    const field = new URLSearchParams(text).get('payload');
    if (field === null) return { ok: false, error: 'Form-encoded body without a payload field' };
    json = field;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return { ok: false, error: 'Payload is not valid JSON' };
  }
  const payload = asObject(parsed);
  if (!payload) return { ok: false, error: 'Payload is not a JSON object' };
  return { ok: true, json, payload };
}
