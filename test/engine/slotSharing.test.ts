// Slot sharing on a real StatePool with real whisper_states of the generated model: which jobs share a slot, the
// threads each gets, the order against jobs that do not share, aborts and refusals; then the engine itself
// running two sharing transcriptions side by side with the same result as alone.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { EngineClosedError, EngineOverloadedError, TranscriptionAbortedError } from "../../src/engine/errors.js";
import { loadAddon } from "../../src/engine/loadAddon.js";
import type { NativeWhisperModel, NativeWhisperState } from "../../src/engine/nativeTypes.js";
import { SlotSharing } from "../../src/engine/SlotSharing.js";
import { StatePool } from "../../src/engine/StatePool.js";
import type { WhisperEngine } from "../../src/engine/WhisperEngine.js";
import { getTestModelPath } from "../../src/models/testModel/index.js";
import { loadTestEngine, speechOfLength } from "../support/engineFixtures.js";

let model: NativeWhisperModel;

beforeAll(async () => {
  model = await loadAddon().loadModel(await getTestModelPath("tiny"), { useGpu: false });
});
afterAll(() => {
  model?.dispose();
});

/** A job that records where it ran and holds its lane until the test ends it. */
interface HeldJob {
  name: string;
  started: boolean;
  threads?: number;
  state?: NativeWhisperState;
  end: () => void;
  result: Promise<string>;
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Resolves once `condition` holds (a state's creation takes a few ms). */
async function until(condition: () => boolean, what = "condition"): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function setup(options: { threads?: number; maxQueued?: number } = {}) {
  const pool = new StatePool({ maxParallel: 1, maxQueued: options.maxQueued ?? 4, createState: () => model.createState() });
  const sharing = new SlotSharing(pool, options.threads ?? 2, () => model.createState());
  const order: string[] = [];
  const held = (name: string, job: { admitted?: boolean; signal?: AbortSignal; priority?: "live" | "batch"; alone?: "all" | "half" } = {}): HeldJob => {
    let end!: () => void;
    const gate = new Promise<void>((resolve) => (end = resolve));
    const record: HeldJob = { name, started: false, end: () => end(), result: Promise.resolve("") };
    record.result = sharing.run({
      run: async (state, threads) => {
        Object.assign(record, { started: true, threads, state });
        order.push(name);
        await gate;
        return name;
      },
      admitted: job.admitted ?? false,
      priority: job.priority ?? "live",
      alone: job.alone ?? "all",
      signal: job.signal,
    });
    record.result.catch(() => undefined);
    return record;
  };
  /** A job that does not share, straight on the pool. */
  const plain = (name: string) => {
    let end!: () => void;
    const gate = new Promise<void>((resolve) => (end = resolve));
    const result = pool.run(async () => {
      order.push(name);
      await gate;
      return name;
    });
    return { end: () => end(), result };
  };
  return { pool, sharing, held, plain, order, close: () => (sharing.close(), pool.close()) };
}

describe("SlotSharing", () => {
  it("gives a job that finds nobody to share with all the slot's threads", async () => {
    const { held, close } = setup({ threads: 4 });
    const a = held("a");
    await until(() => a.started);
    expect(a).toMatchObject({ started: true, threads: 4 });
    a.end();
    expect(await a.result).toBe("a");
    close();
  });

  it("gives a job alone half the threads when its owner has more work in hand, the other half to the next job", async () => {
    const { pool, held, close } = setup({ threads: 4 });
    const a = held("a", { alone: "half" });
    await until(() => a.started);
    expect(a.threads).toBe(2);
    const b = held("b");
    expect(b).toMatchObject({ started: true, threads: 2 });
    expect(b.state).not.toBe(a.state);
    expect(pool.stats()).toMatchObject({ running: 1, queued: 0 });
    a.end();
    b.end();
    await Promise.all([a.result, b.result]);
    close();
  });

  it("starts two jobs that wait for the same slot side by side, on two states, the threads split", async () => {
    for (const [threads, split] of [
      [2, [1, 1]],
      [3, [2, 1]],
      [4, [2, 2]],
    ] as const) {
      const { pool, held, close } = setup({ threads });
      const a = held("a");
      const b = held("b");
      await until(() => a.started && b.started);
      expect([a.threads, b.threads]).toEqual(split);
      expect(a.state).toBeDefined();
      expect(b.state).not.toBe(a.state);
      // One job slot for the two.
      expect(pool.stats()).toMatchObject({ running: 1, queued: 0 });
      a.end();
      b.end();
      expect(await Promise.all([a.result, b.result])).toEqual(["a", "b"]);
      await tick();
      expect(pool.stats()).toMatchObject({ running: 0, queued: 0 });
      close();
    }
  });

  it("pairs jobs that queue behind a busy slot, and lets them go when it frees", async () => {
    const { pool, held, plain, close } = setup();
    const blocker = plain("blocker");
    await tick();
    const a = held("a");
    const b = held("b");
    await tick();
    expect(a.started || b.started).toBe(false);
    // The two wait as one.
    expect(pool.stats().queued).toBe(1);
    blocker.end();
    await blocker.result;
    await until(() => a.started && b.started);
    expect([a.threads, b.threads]).toEqual([1, 1]);
    a.end();
    b.end();
    await Promise.all([a.result, b.result]);
    close();
  });

  it("hands a lane freed on a running slot to the next sharing job at once, unless another job waits for a slot", async () => {
    const { pool, held, plain, order, close } = setup();
    const a = held("a");
    const b = held("b");
    await until(() => a.started && b.started);
    a.end();
    await a.result;
    const c = held("c");
    // c took a's lane (its threads, a state of the slot), on the same job slot.
    expect(c).toMatchObject({ started: true, threads: 1 });
    expect(pool.stats()).toMatchObject({ running: 1, queued: 0 });
    // A job that does not share now waits for a slot: a freed lane is no longer refilled ahead of it.
    const x = plain("x");
    c.end();
    await c.result;
    const d = held("d");
    // Queued behind x, in a slot of its own.
    expect(pool.stats().queued).toBe(2);
    b.end();
    await b.result;
    await until(() => order.includes("x"));
    expect(order).toEqual(["a", "b", "c", "x"]);
    expect(d.started).toBe(false);
    x.end();
    await x.result;
    await until(() => d.started);
    // Alone on the slot: all the threads.
    expect(d).toMatchObject({ started: true, threads: 2 });
    d.end();
    await d.result;
    close();
  });

  it("lends a lane that nothing takes to the job still running on the slot, and takes it back when a job comes", async () => {
    const { held, close } = setup();
    const a = held("a");
    const b = held("b");
    await until(() => a.started && b.started);
    expect(a.threads).toBe(1);
    expect(b.threads).toBe(1);
    expect(b.state!.threadsOverride).toBe(0);
    a.end();
    await a.result;
    // Nothing came for a's lane in the turn after it ended: b runs on both threads from its next pass on.
    await until(() => b.state!.threadsOverride === 2, "b widened");
    const c = held("c");
    // c starts on the lent half at once; b is back to its own thread before c runs.
    expect(c).toMatchObject({ started: true, threads: 1 });
    expect(b.state!.threadsOverride).toBe(0);
    b.end();
    await b.result;
    await until(() => c.state!.threadsOverride === 2, "c widened");
    c.end();
    await c.result;
    close();
  });

  it("shares only between jobs of the same priority", async () => {
    const { held, plain, close } = setup();
    const blocker = plain("blocker");
    await tick();
    const live = held("live");
    const batch = held("batch", { priority: "batch" });
    blocker.end();
    await blocker.result;
    await until(() => live.started);
    expect(live).toMatchObject({ started: true, threads: 2 });
    expect(batch.started).toBe(false);
    live.end();
    await live.result;
    await until(() => batch.started);
    expect(batch).toMatchObject({ started: true, threads: 2 });
    batch.end();
    await batch.result;
    close();
  });

  it("drops a job aborted while it waits; its partner then runs alone on all the threads", async () => {
    const { pool, held, plain, close } = setup();
    const blocker = plain("blocker");
    await tick();
    const abort = new AbortController();
    const a = held("a", { signal: abort.signal });
    const b = held("b");
    abort.abort();
    await expect(a.result).rejects.toBeInstanceOf(TranscriptionAbortedError);
    blocker.end();
    await blocker.result;
    await until(() => b.started);
    expect(a.started).toBe(false);
    expect(b).toMatchObject({ started: true, threads: 2 });
    b.end();
    await b.result;
    await tick();
    expect(pool.stats()).toMatchObject({ running: 0, queued: 0 });
    close();
  });

  it("stops waiting for the slot when every job waiting for it is aborted", async () => {
    const { pool, held, plain, close } = setup();
    const blocker = plain("blocker");
    await tick();
    const abort = new AbortController();
    const a = held("a", { signal: abort.signal });
    const b = held("b", { signal: abort.signal });
    await tick();
    expect(pool.stats().queued).toBe(1);
    abort.abort();
    await expect(a.result).rejects.toBeInstanceOf(TranscriptionAbortedError);
    await expect(b.result).rejects.toBeInstanceOf(TranscriptionAbortedError);
    await tick();
    expect(pool.stats().queued).toBe(0);
    blocker.end();
    await blocker.result;
    close();
  });

  it("refuses a new request when the queue is full without taking its admitted partner down", async () => {
    const { held, plain, close } = setup({ maxQueued: 0 });
    const blocker = plain("blocker");
    await tick();
    const first = held("first");
    const admitted = held("admitted", { admitted: true });
    await expect(first.result).rejects.toBeInstanceOf(EngineOverloadedError);
    blocker.end();
    await blocker.result;
    await until(() => admitted.started);
    expect(admitted).toMatchObject({ started: true, threads: 2 });
    admitted.end();
    expect(await admitted.result).toBe("admitted");
    close();
  });

  it("refuses jobs once closed", async () => {
    const { sharing, close } = setup();
    close();
    await expect(sharing.run({ run: async () => "never", admitted: false, priority: "live", alone: "all" })).rejects.toBeInstanceOf(EngineClosedError);
  });
});

describe("WhisperEngine with shared slots", () => {
  let engine: WhisperEngine;
  beforeAll(async () => {
    engine = await loadTestEngine({ parallelJobs: 1, threadsPerJob: 2 });
  });
  afterAll(async () => {
    await engine?.close();
  });

  it("runs two sharing transcriptions side by side on one slot, each as it would alone", async () => {
    expect(engine.sharesSlots).toBe(true);
    const pcm = await speechOfLength(12);
    const alone = await engine.transcribe(pcm, { language: "en", wordTimestamps: true });
    let mostRunning = 0;
    const watch = setInterval(() => (mostRunning = Math.max(mostRunning, engine.runningJobs)), 2);
    const both = await Promise.all([0, 1].map(() => engine.transcribe(pcm, { language: "en", wordTimestamps: true }, { shareSlot: true }))).finally(() =>
      clearInterval(watch),
    );
    expect(mostRunning).toBe(2);
    // The slot goes back once both are done.
    await until(() => engine.stats().running === 0);
    for (const result of both) {
      expect(result.text).toBe(alone.text);
      expect(result.segments.map((s) => [s.start, s.end, s.text])).toEqual(alone.segments.map((s) => [s.start, s.end, s.text]));
    }
  });

  it("does not share slots of one thread, nor any slot with slot sharing off (EARSHOT_SLOT_SHARING=0)", async () => {
    const pcm = await speechOfLength(5);
    for (const options of [{ threadsPerJob: 1 }, { threadsPerJob: 2, slotSharing: false }]) {
      const single = await loadTestEngine({ parallelJobs: 1, ...options });
      try {
        expect(single.sharesSlots).toBe(false);
        expect(single.info.slotSharing).toBe(false);
        let mostRunning = 0;
        const watch = setInterval(() => (mostRunning = Math.max(mostRunning, single.runningJobs)), 2);
        await Promise.all([0, 1].map(() => single.transcribe(pcm, { language: "en" }, { shareSlot: true }))).finally(() => clearInterval(watch));
        expect(mostRunning).toBe(1);
      } finally {
        await single.close();
      }
    }
    expect(engine.info.slotSharing).toBe(true);
  });
});
