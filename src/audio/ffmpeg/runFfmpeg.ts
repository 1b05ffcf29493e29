// Every FFmpeg child Earshot runs (the decoders of uploads, the batch jobs' FLAC encoder and reader) starts and
// stops here, so they all get the same treatment: starts spaced out over the event loop, a process group of their
// own, a low CPU priority, a grace period between SIGTERM and SIGKILL, and their stderr kept for the diagnosis.
import { type ChildProcess, spawn } from "node:child_process";
import { setPriority } from "node:os";
import type { Readable, Writable } from "node:stream";

import { AudioDecodeError } from "../errors.js";

/** Default nice value of FFmpeg: its work yields the CPU to the process's event loop and to transcription. */
export const DEFAULT_FFMPEG_NICE = 10;
/** How long FFmpeg gets to exit after SIGTERM before SIGKILL. */
const KILL_GRACE_MS = 500;
/** The most of FFmpeg's stderr kept for {@link FfmpegRun.stderrTail} (its last words are what explain a failure). */
const STDERR_TAIL_CHARS = 64 * 1024;

export interface FfmpegOptions {
  /** The binary (see checkFfmpeg). */
  ffmpegPath: string;
  args: readonly string[];
  /**
   * FFmpeg's stdin: "ignore"; "pipe", written by the caller through {@link FfmpegRun.stdin}; or a function that starts
   * feeding it, called as soon as FFmpeg is spawned (in the same turn of the event loop), which returns how to stop
   * feeding (called when the run is stopped or has ended).
   */
  stdin: "ignore" | "pipe" | ((stdin: Writable) => () => void);
  /** FFmpeg's stdout: "pipe", read by the caller through {@link FfmpegRun.stdout}, or "ignore". */
  stdout: "pipe" | "ignore";
  /**
   * Scheduling priority (a nice value, 0 = as this process), so that many FFmpegs at once do not starve the event loop
   * and whisper's threads; default {@link DEFAULT_FFMPEG_NICE}.
   */
  nice?: number | undefined;
  /** Stops the run (see {@link FfmpegRun.stop}) with the signal's reason. */
  signal?: AbortSignal | undefined;
  /** Called with FFmpeg's pid once it has started. */
  onSpawn?: ((pid: number) => void) | undefined;
  /** Called with FFmpeg's stderr text as it arrives. */
  onStderr?: ((text: string) => void) | undefined;
}

/** How FFmpeg exited. */
export interface FfmpegExit {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

/** A running FFmpeg (see {@link startFfmpeg}). */
export interface FfmpegRun {
  /** With `stdin: "pipe"`. EPIPE (FFmpeg exited before reading everything) is expected and swallowed: its exit status tells. */
  readonly stdin: Writable | undefined;
  /** With `stdout: "pipe"`. */
  readonly stdout: Readable | undefined;
  /** The last 64 KB of FFmpeg's stderr so far. */
  readonly stderrTail: string;
  /** Whether {@link stop} has been called (or the signal aborted, or the start failed). */
  readonly stopped: boolean;
  /**
   * Stops the run for `reason` (the first reason given wins): stdin is no longer fed (and closed), and FFmpeg, if still
   * running, gets SIGTERM, then SIGKILL after a grace period.
   */
  stop(reason: unknown): void;
  /**
   * Resolves with FFmpeg's exit status once it has exited and its pipes are closed, whatever the status
   * (classification is the caller's); rejects with the reason the run was stopped for, only after it has exited.
   */
  readonly exited: Promise<FfmpegExit>;
}

let spawnTurns: Promise<void> = Promise.resolve();

/** Resolves in a later turn of the event loop than the previous caller's: process starts are spaced out. */
function takeSpawnTurn(): Promise<void> {
  const turn = spawnTurns.then(() => new Promise<void>((resolve) => setImmediate(resolve)));
  spawnTurns = turn;
  return turn;
}

/**
 * Starts FFmpeg. Starting a process blocks the event loop for a fork of this one (~15 ms at 300 MB): the start waits
 * for a turn of the loop of its own, so a burst of uploads cannot hold it for hundreds of milliseconds. Rejects with
 * the signal's reason when it aborted while waiting for the turn, and with `ffmpeg_unavailable` when the binary
 * cannot be started at all (a start failure reported later rejects {@link FfmpegRun.exited} with it).
 */
export async function startFfmpeg(options: FfmpegOptions): Promise<FfmpegRun> {
  await takeSpawnTurn();
  options.signal?.throwIfAborted();
  const { ffmpegPath, signal } = options;
  let child: ChildProcess;
  try {
    // In a process group of its own: a signal sent to Earshot's group (Ctrl-C in a terminal, `kill -TERM -<pgid>`)
    // must not kill the FFmpegs of uploads that the drain it starts lets finish. Earshot stops them itself; one left
    // behind by a killed Earshot ends on its closed pipes.
    child = spawn(ffmpegPath, options.args, {
      stdio: [options.stdin === "ignore" ? "ignore" : "pipe", options.stdout, "pipe"],
      windowsHide: true,
      detached: true,
    });
  } catch (err) {
    throw unavailable(ffmpegPath, String(err), err);
  }

  let failure: unknown;
  let failed = false;
  let killTimer: NodeJS.Timeout | undefined;
  let stderrTail = "";
  let stopFeeding = () => {};

  const stop = (reason: unknown) => {
    if (failed) return;
    failed = true;
    failure = reason;
    stopFeeding();
    child.stdin?.destroy();
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      child.kill("SIGTERM");
      killTimer = setTimeout(() => child.kill("SIGKILL"), KILL_GRACE_MS);
    }
  };
  const onAbort = () => stop(signal!.reason);

  child.on("error", (err) => {
    // Spawn failures (ENOENT, EACCES); 'close' follows.
    if (child.pid === undefined) stop(unavailable(ffmpegPath, err.message, err));
  });
  child.on("spawn", () => {
    if (child.pid === undefined) return;
    const nice = options.nice ?? DEFAULT_FFMPEG_NICE;
    if (nice !== 0) {
      try {
        setPriority(child.pid, nice);
      } catch {
        // not permitted here (e.g. a container without CAP_SYS_NICE lowering below the parent): run as is
      }
    }
    options.onSpawn?.(child.pid);
  });
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (text: string) => {
    stderrTail = (stderrTail + text).slice(-STDERR_TAIL_CHARS);
    options.onStderr?.(text);
  });
  const exited = new Promise<FfmpegExit>((resolve, reject) => {
    child.on("close", (exitCode, exitSignal) => {
      clearTimeout(killTimer);
      signal?.removeEventListener("abort", onAbort);
      stopFeeding();
      if (failed) reject(failure);
      else resolve({ exitCode, signal: exitSignal });
    });
  });
  // The caller may only look at the exit status (or not at all once stopped): never an unhandled rejection.
  exited.catch(() => undefined);

  if (child.stdin) {
    const stdin = child.stdin;
    // EPIPE when FFmpeg exits before reading everything (it found an error, or the container ended early): expected,
    // and its exit status and stderr tell the real story.
    stdin.on("error", () => undefined);
    if (typeof options.stdin === "function") {
      const detach = options.stdin(stdin);
      stopFeeding = () => {
        stopFeeding = () => {};
        detach();
      };
    }
  }
  if (signal?.aborted) onAbort();
  else signal?.addEventListener("abort", onAbort, { once: true });

  return {
    stdin: options.stdin === "pipe" ? child.stdin ?? undefined : undefined,
    stdout: child.stdout ?? undefined,
    get stderrTail() {
      return stderrTail;
    },
    get stopped() {
      return failed;
    },
    stop,
    exited,
  };
}

function unavailable(ffmpegPath: string, why: string, cause: unknown): AudioDecodeError {
  return new AudioDecodeError("ffmpeg_unavailable", `Could not start ffmpeg (${ffmpegPath}): ${why}`, { cause });
}
