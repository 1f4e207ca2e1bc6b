import { randomBytes } from 'node:crypto';

/** A signed-in dashboard user. */
export interface Session {
  /** The cookie's value: 32 random bytes, base64url. */
  readonly id: string;
  readonly user: string;
  /** The token every changing request of this session must carry in the `X-CSRF-Token` header. */
  readonly csrfToken: string;
  readonly createdAt: number;
  seenAt: number;
}

/** How long sessions live. */
export interface SessionLifetimes {
  /** A session unused for this long is over. */
  idleMs: number;
  /** A session is over this long after sign-in, used or not. */
  maxAgeMs: number;
}

/** The lifetimes the agent uses: 30 minutes idle, 12 hours in all. */
export const SESSION_LIFETIMES: SessionLifetimes = { idleMs: 30 * 60_000, maxAgeMs: 12 * 3_600_000 };

const MAX_SESSIONS = 10_000;

/**
 * The dashboard's sessions, in memory: an agent restart signs everyone out. A session ends at sign-out, after
 * `idleMs` unused or `maxAgeMs` after sign-in, whichever comes first; past {@link MAX_SESSIONS} the oldest goes, so
 * memory stays bounded however many sign-ins succeed.
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly lifetimes: SessionLifetimes = SESSION_LIFETIMES,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts a session for `user` (whose password was checked). */
  create(user: string): Session {
    const now = this.now();
    for (const [id, session] of this.sessions) if (this.expired(session, now)) this.sessions.delete(id);
    if (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value ?? '');
    const session: Session = {
      id: randomBytes(32).toString('base64url'),
      user,
      csrfToken: randomBytes(32).toString('base64url'),
      createdAt: now,
      seenAt: now,
    };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session `id` names, marked used now; undefined (and forgotten) when it has expired or never was. */
  use(id: string | undefined): Session | undefined {
    if (id === undefined) return undefined;
    const session = this.sessions.get(id);
    if (!session) return undefined;
    const now = this.now();
    if (this.expired(session, now)) {
      this.sessions.delete(id);
      return undefined;
    }
    session.seenAt = now;
    return session;
  }

  /** Ends the session `id` names, if any. */
  end(id: string): void {
    this.sessions.delete(id);
  }

  private expired(session: Session, now: number): boolean {
    return now - session.seenAt >= this.lifetimes.idleMs || now - session.createdAt >= this.lifetimes.maxAgeMs;
  }
}
