// The opaque keyset cursor of incident lists: base64url of [exact timestamp text, id].
import type { Cursor } from '../../db/stores/incidents-store.ts';
import { errors } from '../../errors.ts';

const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.at, cursor.id]), 'utf8').toString('base64url');
}

/** Throws BAD_REQUEST for anything this API did not produce. */
export function decodeCursor(text: string): Cursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (
    Array.isArray(parsed) &&
    parsed.length === 2 &&
    typeof parsed[0] === 'string' &&
    typeof parsed[1] === 'string' &&
    TIME.test(parsed[0]) &&
    UUID.test(parsed[1])
  ) {
    return { at: parsed[0], id: parsed[1] };
  }
  throw new errors.BAD_REQUEST('cursor is not valid; use next_cursor from a list');
}

/** A list query's `limit` and `cursor` → the store's page request. */
export function pageRequest(q: { limit: number; cursor?: string | undefined }): {
  limit: number;
  after: Cursor | undefined;
} {
  return { limit: q.limit, after: q.cursor === undefined ? undefined : decodeCursor(q.cursor) };
}

/** A store's page → the API's `{ items, next_cursor }`. */
export function pageJson<T, J>(
  page: { items: T[]; next: Cursor | null },
  toJson: (item: T) => J,
): { items: J[]; next_cursor: string | null } {
  return {
    items: page.items.map((item) => toJson(item)),
    next_cursor: page.next ? encodeCursor(page.next) : null,
  };
}
