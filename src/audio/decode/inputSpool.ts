// A copy of a streamed input, kept for a second decode of it (decodeAudio's `keepInput`).

import { createWriteStream, type WriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";

import { tempDirPrefix } from "../tempDirs.js";
import type { StdinSource } from "./types.js";

/**
 * A private temp file that a streamed input is copied to as it is fed to ffmpeg (with the same back-pressure), for a
 * second decode of it. {@link drop} stops the copy; {@link remove} deletes it.
 */
export class InputSpool {
  private out: WriteStream | undefined;
  private source: Readable | undefined;
  private failed = false;

  private constructor(
    readonly dir: string,
    readonly file: string,
  ) {}

  static async open(parent: string): Promise<InputSpool> {
    const dir = await mkdtemp(join(parent, tempDirPrefix()));
    return new InputSpool(dir, join(dir, "input"));
  }

  /** Starts copying: what was already read, then the rest of the stream. */
  attach(source: Extract<StdinSource, { kind: "stream" }>): void {
    if (this.failed) return;
    const out = createWriteStream(this.file, { mode: 0o600, flags: "wx" });
    this.out = out;
    this.source = source.stream;
    out.on("error", () => this.drop());
    for (const chunk of source.chunks) out.write(chunk);
    if (source.ended) out.end();
    else source.stream.pipe(out);
  }

  /** Stops copying for good (the copy will not be used). */
  drop(): void {
    this.failed = true;
    if (this.out) {
      this.source?.unpipe(this.out);
      this.out.destroy();
    }
  }

  /** The input has been fed: resolves true once the copy is complete on disk, false when it failed or was dropped. */
  async close(): Promise<boolean> {
    const out = this.out;
    if (this.failed || !out) return false;
    this.source?.unpipe(out);
    if (!out.closed) {
      await new Promise<void>((resolve) => {
        out.once("close", resolve);
        if (!out.writableEnded) out.end();
      });
    }
    return !this.failed && out.writableFinished;
  }

  async remove(): Promise<void> {
    this.drop();
    if (this.out && !this.out.closed) await new Promise<void>((resolve) => this.out!.once("close", resolve));
    await rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
  }
}
