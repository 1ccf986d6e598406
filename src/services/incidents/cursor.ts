// The opaque keyset cursor of incident lists: base64url of [exact timestamp text, id].
import type { Cursor } from '../../db/stores/incidents-store.ts';
import { decodePosition, encodePosition } from '../workflows/keyset-cursor.ts';

/** Microseconds: incidents sort on times Postgres wrote (see incidents-store.ts). */
const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$/;

export function encodeCursor(cursor: Cursor): string {
  return encodePosition(cursor.at, cursor.id);
}

/** Throws BAD_REQUEST for anything this API did not produce. */
export function decodeCursor(text: string): Cursor {
  return decodePosition(text, TIME);
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
