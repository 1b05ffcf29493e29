// The decoder's limits with real FFmpeg: a header that declares more than the cap is refused before anything is
// decoded; a stream that declares nothing is stopped at the cap; a memory grant bounds the samples held; temp dirs
// carry their owner's pid, and a sweep removes only those of dead processes.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  AudioDecodeError,
  AudioMemoryBudget,
  AudioMemoryError,
  decodeAudio,
  sweepStaleTempDirs,
  tempDirPrefix,
} from "../../src/audio/index.js";
import { silenceFile } from "../support/abuse.js";
import { runFfmpeg } from "../support/speech.js";

const THREE_HOURS = 3 * 3600;
let declared: Buffer;
let undeclared: Buffer;
let workDir: string;

beforeAll(async () => {
  [declared, undeclared] = await Promise.all([silenceFile(THREE_HOURS, "flac"), silenceFile(THREE_HOURS, "flac-stream")]);
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-decode-limits-"));
}, 60_000);
afterAll(() => {
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

/** The bytes as an upload would deliver them: a stream of 64 KiB chunks. */
function upload(bytes: Buffer): Readable {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += 65_536) chunks.push(bytes.subarray(offset, offset + 65_536));
  return Readable.from(chunks, { objectMode: false });
}

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

describe("the decoded-seconds cap", () => {
  it("a 3-h file in 2 MB whose header says so is refused in well under a second, before a sample is decoded", async () => {
    expect(declared.length).toBeLessThan(4 * 1_048_576);
    let decodedSamples = 0;
    let pid = 0;
    const started = performance.now();
    const error = await decodeAudio(upload(declared), {
      onSamples: (samples) => (decodedSamples += samples.length),
      onFfmpegSpawn: (p) => (pid = p),
    }).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(AudioDecodeError);
    expect((error as AudioDecodeError).code).toBe("too_long");
    expect(elapsed, `refused after ${elapsed.toFixed(0)} ms`).toBeLessThan(1_000);
    expect(decodedSamples).toBe(0);
    expect(processGone(pid)).toBe(true);
  });

  it("a stream that declares no duration is stopped once the decoded samples pass the cap", async () => {
    let decodedSamples = 0;
    const error = await decodeAudio(upload(undeclared), { maxDurationSeconds: 60, onSamples: (samples) => (decodedSamples += samples.length) }).catch(
      (e: unknown) => e,
    );
    expect((error as AudioDecodeError).code).toBe("too_long");
    expect(decodedSamples).toBeLessThanOrEqual(60 * 16_000);
    expect(decodedSamples).toBeGreaterThan(50 * 16_000);
  });

  it("a declared duration within the cap decodes whole (the header only pre-sizes the buffer)", async () => {
    const tenMinutes = await silenceFile(600, "flac");
    const audio = await decodeAudio(upload(tenMinutes), { maxDurationSeconds: 600 });
    expect(audio.duration).toBeCloseTo(600, 1);
  });
});

describe("the memory grant", () => {
  it("refuses at once, before decoding, a header that declares more than the budget has free", async () => {
    const budget = new AudioMemoryBudget(16 * 1_048_576);
    const lease = budget.lease()!;
    let decodedSamples = 0;
    const started = performance.now();
    const error = await decodeAudio(upload(declared), {
      maxDurationSeconds: 4 * 3600,
      memory: lease,
      onSamples: (samples) => (decodedSamples += samples.length),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AudioMemoryError);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(decodedSamples).toBe(0);
    expect(lease.bytes).toBeLessThanOrEqual(16 * 1_048_576);
    lease.release();
    expect(budget.usedBytes).toBe(0);
  });

  it("stops a stream that declares nothing when its samples would pass the budget, holding no more than it", async () => {
    const budget = new AudioMemoryBudget(16 * 1_048_576);
    const lease = budget.lease()!;
    let decodedSamples = 0;
    const error = await decodeAudio(upload(undeclared), {
      maxDurationSeconds: 4 * 3600,
      memory: lease,
      onSamples: (samples) => (decodedSamples += samples.length),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AudioMemoryError);
    expect(lease.bytes).toBeLessThanOrEqual(16 * 1_048_576);
    expect(decodedSamples * 4).toBeLessThanOrEqual(16 * 1_048_576);
    expect(decodedSamples * 4).toBeGreaterThan(8 * 1_048_576);
  });

  it("a decode that fits holds its samples within its lease until the lease is released", async () => {
    const budget = new AudioMemoryBudget(64 * 1_048_576);
    const lease = budget.lease()!;
    const audio = await decodeAudio(upload(await silenceFile(120, "flac-stream")), { memory: lease });
    expect(audio.duration).toBeCloseTo(120, 1);
    // No declared length: decoded into blocks, then joined; both are granted (and held until the lease is released)
    expect(lease.bytes).toBeGreaterThanOrEqual(2 * audio.samples.byteLength);
    expect(lease.bytes).toBeLessThan(2 * audio.samples.byteLength + 1_000_000);
    expect(budget.usedBytes).toBe(lease.bytes);
    lease.release();
    lease.release();
    expect(budget.usedBytes).toBe(0);

    // A declared length: one block of that length, nothing to join
    const declaredLease = budget.lease()!;
    const declaredAudio = await decodeAudio(upload(await silenceFile(120, "flac")), { memory: declaredLease });
    expect(declaredAudio.duration).toBeCloseTo(120, 1);
    expect(declaredLease.bytes).toBeGreaterThanOrEqual(declaredAudio.samples.byteLength);
    expect(declaredLease.bytes).toBeLessThanOrEqual(declaredAudio.samples.byteLength + 2 * 64_000);
    declaredLease.release();
  });

  it("a budget lends only what it has", () => {
    const budget = new AudioMemoryBudget(100);
    const a = budget.lease(60)!;
    expect(budget.lease(50)).toBeUndefined();
    const b = budget.lease(40)!;
    expect(b.ensure(41)).toBe(false);
    expect(b.bytes).toBe(40);
    a.release();
    expect(b.ensure(100)).toBe(true);
    expect(budget.freeBytes).toBe(0);
  });
});

describe("ffmpeg's priority", () => {
  it("runs niced (10 by default) so that many decodes do not starve the event loop", async () => {
    const nice = (pid: number) => Number(fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[16]);
    const seen: number[] = [];
    await decodeAudio(upload(await silenceFile(120, "flac")), { onFfmpegSpawn: (pid) => seen.push(nice(pid)) });
    await decodeAudio(upload(await silenceFile(120, "flac")), { ffmpegNice: 0, onFfmpegSpawn: (pid) => seen.push(nice(pid)) });
    expect(seen).toEqual([10, 0]);
  });
});

describe("temp dirs", () => {
  it("are named after the process that made them", async () => {
    const parent = fs.mkdtempSync(path.join(workDir, "named-"));
    const mp3 = (await runFfmpeg(["-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "libmp3lame", "-f", "mp3", "pipe:1"])).stdout;
    let seen: string[] = [];
    await decodeAudio(upload(mp3), { tempDir: parent, onFfmpegSpawn: () => (seen = fs.readdirSync(parent)) });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.startsWith(tempDirPrefix())).toBe(true);
    expect(seen[0]).toMatch(new RegExp(`^earshot-audio-${process.pid}-[A-Za-z0-9]{6}$`));
    expect(fs.readdirSync(parent)).toEqual([]);
  });

  it("a sweep removes those of dead processes only", async () => {
    const parent = fs.mkdtempSync(path.join(workDir, "sweep-"));
    const dead = spawnSync(process.execPath, ["-e", "process.pid"]).pid!;
    expect(processGone(dead)).toBe(true);
    const names = {
      dead: `earshot-audio-${dead}-aB3xYz`,
      live: `earshot-audio-${process.ppid}-QwErTy`,
      own: `earshot-audio-${process.pid}-zzzzzz`,
      oldStyle: "earshot-audio-k2JdQ1",
      other: `other-${dead}-aB3xYz`,
    };
    for (const name of Object.values(names)) {
      fs.mkdirSync(path.join(parent, name));
      fs.writeFileSync(path.join(parent, name, "input"), "x");
    }
    fs.writeFileSync(path.join(parent, `earshot-audio-${dead}-file00`), "a file, not a dir");

    expect(await sweepStaleTempDirs(parent)).toEqual([path.join(parent, names.dead)]);
    expect(fs.readdirSync(parent).sort()).toEqual([names.live, names.own, names.oldStyle, names.other, `earshot-audio-${dead}-file00`].sort());
  });
});
