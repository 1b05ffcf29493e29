// Buffered, counted writes of a generated model file.

import type { promises as fs } from "node:fs";

/** Gathers writes into ~4-MiB file writes and counts the bytes, for the final size check. */
export class FileSink {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  written = 0;

  constructor(private readonly handle: fs.FileHandle) {}

  async write(chunk: Buffer): Promise<void> {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    this.written += chunk.length;
    if (this.pendingBytes >= 4 << 20) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const data = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    let o = 0;
    while (o < data.length) o += (await this.handle.write(data, o, data.length - o)).bytesWritten;
  }
}

/** The bytes of a typed array, without a copy. */
export function asBuffer(view: Uint16Array | Float32Array | Int32Array): Buffer {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}
