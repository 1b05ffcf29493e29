// What bounds a server's realtime sessions (settings), and the dialect a client speaks.

export interface RealtimeLimits {
  /** The session is closed after this long. */
  maxSessionSeconds: number;
  /** Uncommitted audio a session may hold (manual commit mode), and the longest VAD turn before a forced commit. */
  maxBufferSeconds: number;
  /** Largest client message handled; bigger ones get an error event (up to the socket's hard cap). */
  maxMessageBytes: number;
  /** The session is closed after this long without a client message. */
  idleTimeoutSeconds: number;
  /** Sessions open at once; the next upgrade is refused. */
  maxSessions: number;
  /** Sessions one API key may hold open at once (its client secrets' sessions included), when 2+ keys are configured. */
  maxSessionsPerKey: number;
  /** Sockets one client secret may hold open at once. */
  maxSocketsPerSecret: number;
  /** A session's audio is processed at most this many times faster than real time (after a short burst). */
  maxSpeed: number;
}

/** OpenAI's realtime API as it is now (GA), or its earlier beta shape (`OpenAI-Beta: realtime=v1`). */
export type RealtimeDialect = "ga" | "beta";
