// Browser sessions, kept server-side. The cookie carries a random 256-bit id; the sessions
// table keeps only its SHA-256, so logout (deleting the row) really ends the session and a
// replayed cookie finds nothing. Each session has its own CSRF secret; the token pages and
// scripts send back is an HMAC of it under SESSION_SECRET, so a database reader alone
// cannot produce one.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { randomSecret } from '../../crypto/random-secret.ts';
import type { Db } from '../../db/client.ts';
import { createSessionsStore, type SessionUser } from '../../db/stores/sessions-store.ts';

export const SESSION_COOKIE = 'ffx_session';
/** A session unused for this long ends. */
export const SESSION_IDLE_MS = 14 * 24 * 3600 * 1000;
/** However active, a session ends this long after sign-in. */
export const SESSION_MAX_MS = 30 * 24 * 3600 * 1000;
/** lastSeen/expiry are written at most this often per session. */
const TOUCH_INTERVAL_MS = 3600 * 1000;
const SESSION_ID_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export interface ResolvedSession {
  user: SessionUser;
  /** sha256 of the cookie's id: the row id. */
  idHash: string;
  csrfToken: string;
}

export interface SessionService {
  create(
    userId: string,
    userAgent: string | undefined,
  ): Promise<{ id: string; csrfToken: string; expiresAt: Date }>;
  /** The live session for a cookie's id, or null (unknown, expired, malformed). */
  resolve(id: string): Promise<ResolvedSession | null>;
  destroy(id: string): Promise<boolean>;
  csrfMatches(expected: string, presented: unknown): boolean;
}

export function hashSessionId(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex');
}

export function createSessionService(
  db: Db,
  opts: { sessionSecret: string; now?: () => Date },
): SessionService {
  const store = createSessionsStore(db);
  const now = opts.now ?? (() => new Date());
  const csrfTokenFor = (csrfSecret: string) =>
    createHmac('sha256', opts.sessionSecret).update(`csrf:${csrfSecret}`).digest('base64url');

  return {
    async create(userId, userAgent) {
      const id = randomSecret(32);
      const csrfSecret = randomSecret(32);
      const expiresAt = new Date(now().getTime() + SESSION_IDLE_MS);
      await store.create({
        id: hashSessionId(id),
        userId,
        csrfSecret,
        userAgent: userAgent?.slice(0, 300) ?? null,
        expiresAt,
      });
      return { id, csrfToken: csrfTokenFor(csrfSecret), expiresAt };
    },

    async resolve(id) {
      if (!SESSION_ID_SHAPE.test(id)) return null;
      const idHash = hashSessionId(id);
      const t = now();
      const found = await store.findLive(idHash, t);
      if (!found) return null;
      const { session, user } = found;
      if (t.getTime() - session.lastSeenAt.getTime() > TOUCH_INTERVAL_MS) {
        const cap = session.createdAt.getTime() + SESSION_MAX_MS;
        const expiresAt = new Date(Math.min(t.getTime() + SESSION_IDLE_MS, cap));
        await store.touch(idHash, t, expiresAt);
      }
      return { user, idHash, csrfToken: csrfTokenFor(session.csrfSecret) };
    },

    async destroy(id) {
      if (!SESSION_ID_SHAPE.test(id)) return false;
      return store.delete(hashSessionId(id));
    },

    csrfMatches(expected, presented) {
      if (typeof presented !== 'string') return false;
      const a = Buffer.from(presented, 'utf8');
      const b = Buffer.from(expected, 'utf8');
      return a.length === b.length && timingSafeEqual(a, b);
    },
  };
}
