// The opaque keyset cursor of the runs, connections and deliveries lists: base64url of
// [ISO timestamp, id]. Every timestamp these lists sort on is written with millisecond
// precision (from GitHub or from Node), so a Date round-trips exactly.
import { errors } from '../../errors.ts';

export interface Keyset {
  at: Date;
  id: string;
}

const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The text of every list's cursor (incidents' too): base64url of [timestamp text, id]. */
export function encodePosition(at: string, id: string): string {
  return Buffer.from(JSON.stringify([at, id]), 'utf8').toString('base64url');
}

/**
 * A cursor's [timestamp text, id], the timestamp in the form `time` allows; throws
 * BAD_REQUEST for anything this API did not produce.
 */
export function decodePosition(text: string, time: RegExp): { at: string; id: string } {
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
    time.test(parsed[0]) &&
    UUID.test(parsed[1]) &&
    !Number.isNaN(new Date(parsed[0]).getTime())
  ) {
    return { at: parsed[0], id: parsed[1] };
  }
  throw new errors.BAD_REQUEST('cursor is not valid; use next_cursor from a list');
}

export const encodeKeyset = (position: Keyset) =>
  encodePosition(position.at.toISOString(), position.id);

/** Throws BAD_REQUEST for anything this API did not produce. */
export function decodeKeyset(text: string): Keyset {
  const { at, id } = decodePosition(text, TIME);
  return { at: new Date(at), id };
}

/** Fetches limit + 1 rows to know whether there is a next page. */
function pageOf<T>(
  rows: T[],
  limit: number,
  position: (row: T) => Keyset,
): { items: T[]; next: string | null } {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return {
    items,
    next: rows.length > limit && last !== undefined ? encodeKeyset(position(last)) : null,
  };
}

/**
 * One page of a keyset-paginated list: `fetch` is asked for limit + 1 rows after the
 * cursor's position, `position` says where a row stands.
 */
export async function keysetPage<T>(
  page: { limit: number; cursor?: string | undefined },
  fetch: (q: { limit: number; after: Keyset | undefined }) => Promise<T[]>,
  position: (row: T) => Keyset,
): Promise<{ items: T[]; next: string | null }> {
  const after = page.cursor ? decodeKeyset(page.cursor) : undefined;
  return pageOf(await fetch({ limit: page.limit + 1, after }), page.limit, position);
}
