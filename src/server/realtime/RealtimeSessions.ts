// The server's realtime sessions, whichever door opened them (a WebSocket upgrade, a WebRTC call): one count against
// EARSHOT_REALTIME_MAX_SESSIONS and the per-key and per-secret shares, one scheduler for their decoding slices, one
// set to report (stats, the metrics' gauge) and to drain at shutdown. A session holds its place from its admission
// (a call's from its POST, while its connection is still being made) until it closes.
import { tooManyRealtimeSessions } from "../../api/errors.js";
import type { RealtimeSession } from "./RealtimeSession.js";
import type { RealtimeLimits } from "./realtimeLimits.js";
import { SliceScheduler } from "./sliceScheduler.js";
import { type Admission, SessionShares } from "./upgradeAdmission.js";

/** What a server's realtime sessions are doing right now. */
export interface RealtimeStats {
  /** Sessions open (WebSocket and WebRTC; a call counts from its POST). */
  sessions: number;
  /** Sessions with client events waiting or being handled. */
  busySessions: number;
  /** Sessions whose socket is not being read (back-pressure), or whose call drops its audio. */
  pausedSessions: number;
  /** Slices of decoding work waiting for their turn. */
  pendingSlices: number;
  /** Bytes of client data the open sessions hold (see RealtimeSession.heldBytes). */
  heldBytes: number;
}

/** A session's place among the server's: taken at admission, given back (once) when it closes or never opens. */
export interface SessionPlace {
  /** The session now in this place (counted in the stats, drained at shutdown). */
  fill(session: RealtimeSession): void;
  release(): void;
}

export class RealtimeSessions {
  /** Shared by the server's sessions: runs their decoding in slices, taking turns. */
  readonly scheduler = new SliceScheduler();
  private places = 0;
  private readonly open = new Set<RealtimeSession>();
  private readonly shares: SessionShares;

  constructor(
    private readonly limits: Pick<RealtimeLimits, "maxSessions" | "maxSessionsPerKey" | "maxSocketsPerSecret">,
    /** Whether per-key shares apply: with fewer than two keys there is one caller, and the server's limit is its share. */
    perKeyApplies: boolean,
  ) {
    this.shares = new SessionShares(limits, perKeyApplies);
  }

  /** Throws a 429 when the server holds its limit of sessions, or the admission's key or secret its share. */
  check(admission: Admission): void {
    if (this.places >= this.limits.maxSessions) throw tooManyRealtimeSessions(this.limits.maxSessions);
    this.shares.check(admission);
  }

  /** Takes a place for a checked admission, in the same turn of the event loop as {@link check} (no race between them). */
  take(admission: Admission): SessionPlace {
    const giveBack = this.shares.take(admission);
    this.places++;
    let session: RealtimeSession | undefined;
    let released = false;
    return {
      fill: (opened) => {
        if (released) return;
        session = opened;
        this.open.add(opened);
      },
      release: () => {
        if (released) return;
        released = true;
        this.places--;
        giveBack();
        if (session) this.open.delete(session);
      },
    };
  }

  stats(): RealtimeStats {
    let busySessions = 0;
    let pausedSessions = 0;
    let heldBytes = 0;
    for (const session of this.open) {
      if (session.busy) busySessions++;
      if (session.readingPaused) pausedSessions++;
      heldBytes += session.heldBytes;
    }
    return { sessions: this.places, busySessions, pausedSessions, pendingSlices: this.scheduler.pending, heldBytes };
  }

  /** Every open session stops taking audio, finishes its committed turns and closes; resolves once all have. */
  async drain(): Promise<void> {
    await Promise.all([...this.open].map((session) => session.drain().catch(() => undefined)));
  }
}
