// Two jobs that may share a job slot run side by side on it, each on a whisper_state of its own, the slot's CPU
// threads split between them: a long file's chunks use the cores better so than one chunk at a time on all of
// them (whisper's decoder spreads over threads far less well than its encoder). A sharing job that finds nobody
// to share with by the time its slot comes runs alone on all the threads, so a lone request never loses speed,
// unless its owner says more work is in hand (alone: "half"): then it leaves half of them for the partner to come.
// When one of the two ends and nothing takes its lane, the other takes all the threads from its next encoder or
// decoder pass on (native/patches/whisper-state-threads.patch), and gives them back when a job comes for the lane.
import { EngineClosedError, EngineOverloadedError, TranscriptionAbortedError } from "./errors.js";
import type { NativeJobState } from "./nativeTypes.js";
import type { JobPriority, StatePool } from "./StatePool.js";

/** One job that may share its slot: runs on the state and thread count it is given. */
export interface SharingJob<S, T> {
  run: (state: S, threads: number) => Promise<T>;
  signal?: AbortSignal | undefined;
  /** Work of a request already admitted: waits for a slot however long the queue. */
  admitted: boolean;
  /** Jobs share a slot only with jobs of the same priority. */
  priority: JobPriority;
  /**
   * The threads it takes when it starts without a partner: "all", or "half" when its owner has more work in hand
   * (the rest of the audio to cut into chunks, the next chunk soon): the other half waits for a partner.
   */
  alone: "all" | "half";
}

interface Member<S> {
  job: SharingJob<S, unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  /** Removes the member's abort listener. */
  detach: () => void;
}

/** A lane of a running slot: a state and the threads that go with it, free or running a job. */
interface Lane<S> {
  state: S;
  threads: number;
  busy: boolean;
  /** Running on every thread of the slot: the other lane's half is lent to it while that lane has no job. */
  widened: boolean;
}

/**
 * Hands out the engine's job slots to sharing jobs two at a time. A job joins a slot of its priority that is still
 * waiting in the pool's queue with one job (both start together when it comes), or a running split slot whose other
 * lane has finished while nothing that could take a slot before it waits; otherwise it asks the pool for a slot of
 * its own. Each slot uses at most one extra state (so at most as many extra states as job slots), kept for reuse.
 */
export class SlotSharing<S extends NativeJobState = NativeJobState> {
  private readonly slots = new Set<SharedSlot<S>>();
  private readonly spares: S[] = [];
  private closed = false;

  constructor(
    private readonly pool: StatePool<S>,
    /** The threads of one slot (at least 2). */
    readonly threads: number,
    private readonly createState: () => Promise<S>,
  ) {}

  run<T>(job: SharingJob<S, T>): Promise<T> {
    if (this.closed) return Promise.reject(new EngineClosedError());
    if (job.signal?.aborted) return Promise.reject(new TranscriptionAbortedError());
    return new Promise<T>((resolve, reject) => {
      const member: Member<S> = { job: job as SharingJob<S, unknown>, resolve: resolve as (value: unknown) => void, reject, detach: () => undefined };
      this.place(member);
    });
  }

  /** Frees the idle extra states; those in use are freed when their slot ends. */
  close(): void {
    this.closed = true;
    for (const state of this.spares.splice(0)) state.dispose();
  }

  private place(member: Member<S>): void {
    // A running slot's free lane first (it starts now), then a queued slot's second place.
    const { priority } = member.job;
    const stats = this.pool.stats();
    // Live work waits behind live work only; batch work behind both.
    const nobodyWaits = stats.queued === 0 && (priority === "live" || stats.batchQueued === 0);
    let slot: SharedSlot<S> | undefined;
    for (const candidate of this.slots) {
      if (candidate.priority !== priority) continue;
      if (candidate.canStartNow(nobodyWaits)) {
        slot = candidate;
        break;
      }
      if (!slot && candidate.canJoinQueued()) slot = candidate;
    }
    if (!slot) {
      slot = new SharedSlot<S>(this, priority);
      this.slots.add(slot);
      slot.add(member);
      slot.acquire(this.pool, member.job.admitted);
      return;
    }
    slot.add(member);
  }

  /** @internal A slot ended, or failed to come: members it still holds are placed again or fail. */
  ended(slot: SharedSlot<S>): void {
    this.slots.delete(slot);
  }

  /** @internal Places a member again after its slot failed to come for a reason that was not its own. */
  replace(member: Member<S>): void {
    if (this.closed) {
      member.reject(new EngineClosedError());
      return;
    }
    this.place(member);
  }

  /** @internal An extra state for a slot's second lane. */
  async takeSpare(): Promise<S> {
    return this.spares.pop() ?? this.createState();
  }

  /** @internal */
  giveSpare(state: S): void {
    if (this.closed) state.dispose();
    else this.spares.push(state);
  }
}

/** One job slot taken from the pool for up to two lanes. */
class SharedSlot<S extends NativeJobState> {
  /** Members waiting for the slot (at most two). */
  private readonly queued: Member<S>[] = [];
  private readonly lanes: Lane<S>[] = [];
  private phase: "queued" | "running" | "ended" = "queued";
  /** Aborts the wait for a slot once every member waiting for it has gone. */
  private readonly abort = new AbortController();
  private finishRunning: (() => void) | undefined;
  private split = false;

  constructor(
    private readonly sharing: SlotSharing<S>,
    readonly priority: JobPriority,
  ) {}

  /** Still waiting in the pool's queue with room for a second job. */
  canJoinQueued(): boolean {
    return this.phase === "queued" && this.queued.length === 1;
  }

  /** Running split with a free lane, and (for fairness) nobody else waiting for a slot. */
  canStartNow(nobodyWaits: boolean): boolean {
    return this.phase === "running" && this.split && nobodyWaits && this.lanes.some((lane) => !lane.busy);
  }

  add(member: Member<S>): void {
    if (this.phase === "running") {
      // The partner gives back the threads it was lent before this job starts on them.
      for (const lane of this.lanes) this.narrow(lane);
      this.start(member, this.lanes.find((lane) => !lane.busy)!);
      return;
    }
    this.queued.push(member);
    const signal = member.job.signal;
    if (signal) {
      const onAbort = () => {
        const index = this.queued.indexOf(member);
        if (index < 0) return;
        this.queued.splice(index, 1);
        member.reject(new TranscriptionAbortedError());
        if (this.queued.length === 0) this.abort.abort();
      };
      signal.addEventListener("abort", onAbort, { once: true });
      member.detach = () => signal.removeEventListener("abort", onAbort);
    }
  }

  acquire(pool: StatePool<S>, admitted: boolean): void {
    pool
      .run((state) => this.runOn(state), { signal: this.abort.signal, admitted, priority: this.priority })
      .catch((error: unknown) => {
        // The slot did not come: its members fail with the reason, or (when the reason was not theirs: the queue
        // was full for the first one while a later one was admitted) ask again on their own.
        this.phase = "ended";
        this.sharing.ended(this);
        for (const member of this.queued.splice(0)) {
          member.detach();
          if (error instanceof EngineOverloadedError && member.job.admitted) this.sharing.replace(member);
          else member.reject(error);
        }
      });
  }

  private async runOn(state: S): Promise<void> {
    const members = this.queued.splice(0);
    for (const member of members) member.detach();
    this.phase = "running";
    const threads = this.sharing.threads;
    this.split = members.length > 1 || members[0]?.job.alone === "half";
    let spare: S | undefined;
    try {
      if (this.split) {
        try {
          spare = await this.sharing.takeSpare();
        } catch {
          // No second state (memory): the two run one after the other on all the threads.
          this.split = false;
        }
      }
      const first = Math.ceil(threads / 2);
      this.lanes.push({ state, threads: this.split ? first : threads, busy: false, widened: false });
      if (spare) this.lanes.push({ state: spare, threads: threads - first, busy: false, widened: false });
      const done = new Promise<void>((resolve) => (this.finishRunning = resolve));
      if (this.split) {
        members.forEach((member, i) => this.start(member, this.lanes[i]!));
      } else {
        for (const member of members) await this.runMember(member, this.lanes[0]!);
        this.finishRunning?.();
      }
      await done;
    } finally {
      this.phase = "ended";
      this.sharing.ended(this);
      if (spare) this.sharing.giveSpare(spare);
    }
  }

  private start(member: Member<S>, lane: Lane<S>): void {
    void this.runMember(member, lane).then(() => {
      // The job's owner hears of its end a few promise steps later and may hand the free lane its next job: the
      // slot is kept until the next turn of the event loop.
      setImmediate(() => {
        if (this.phase !== "running" || lane.busy) return;
        const partner = this.lanes.find((l) => l.busy);
        if (partner) {
          // Nothing came for the free lane: the job still running takes its threads until something does.
          this.widen(partner);
          return;
        }
        this.phase = "ended";
        this.finishRunning?.();
      });
    });
  }

  private widen(lane: Lane<S>): void {
    if (lane.widened || lane.threads >= this.sharing.threads) return;
    lane.widened = true;
    lane.state.setThreads(this.sharing.threads);
  }

  private narrow(lane: Lane<S>): void {
    if (!lane.widened) return;
    lane.widened = false;
    if (lane.busy) lane.state.setThreads(0);
  }

  private async runMember(member: Member<S>, lane: Lane<S>): Promise<void> {
    lane.busy = true;
    try {
      if (member.job.signal?.aborted) throw new TranscriptionAbortedError();
      member.resolve(await member.job.run(lane.state, lane.threads));
    } catch (error) {
      member.reject(error);
    } finally {
      lane.busy = false;
      lane.widened = false; // the next job on this state starts on its own threads (the addon resets them)
    }
  }
}
