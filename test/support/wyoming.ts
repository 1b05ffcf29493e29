// A Wyoming client for the tests, written from the protocol's definition (the `wyoming` Python package's
// wyoming/event.py): each event is one JSON line `{type, data?, data_length?, payload_length?}`, then `data_length`
// bytes of JSON merged into `data`, then `payload_length` bytes of payload. Records every event the server sends with
// the time it arrived.
import net from "node:net";

import { waitFor } from "./server.js";

export interface ReceivedEvent {
  type: string;
  data: Record<string, any>;
  /** performance.now() when it was whole. */
  at: number;
}

export class WyomingClient {
  readonly events: ReceivedEvent[] = [];
  /** Resolves once the server closed the connection (or it failed). */
  readonly closed: Promise<void>;
  isClosed = false;
  private buffer = Buffer.alloc(0);

  private constructor(readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", () => undefined);
    this.closed = new Promise((resolve) =>
      socket.once("close", () => {
        this.isClosed = true;
        resolve();
      }),
    );
  }

  static connect(port: number): Promise<WyomingClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: "127.0.0.1", port }, () => resolve(new WyomingClient(socket)));
      socket.once("error", reject);
    });
  }

  /** Writes one event; `inlineData` puts `data` in the header line (older writers) instead of the data block. */
  send(type: string, data?: Record<string, unknown>, payload?: Buffer, options: { inlineData?: boolean } = {}): void {
    const header: Record<string, unknown> = { type };
    let dataBytes: Buffer | undefined;
    if (data && options.inlineData) header.data = data;
    else if (data) {
      dataBytes = Buffer.from(JSON.stringify(data));
      header.data_length = dataBytes.length;
    }
    if (payload) header.payload_length = payload.length;
    this.socket.write(Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), dataBytes ?? Buffer.alloc(0), payload ?? Buffer.alloc(0)]));
  }

  writeRaw(bytes: Buffer | string): void {
    this.socket.write(bytes);
  }

  /** Waits for the `nth` (from 0) event of `type`. */
  async next(type: string, timeoutMs = 60_000, nth = 0): Promise<ReceivedEvent> {
    return waitFor(`a ${type} event`, async () => this.events.filter((event) => event.type === type)[nth], timeoutMs);
  }

  of(type: string): ReceivedEvent[] {
    return this.events.filter((event) => event.type === type);
  }

  close(): void {
    this.socket.end();
  }

  private onData(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const newline = this.buffer.indexOf(0x0a);
      if (newline < 0) return;
      const header = JSON.parse(this.buffer.subarray(0, newline).toString("utf8")) as { type: string; data?: Record<string, any>; data_length?: number; payload_length?: number };
      const dataLength = header.data_length ?? 0;
      const payloadLength = header.payload_length ?? 0;
      if (this.buffer.length < newline + 1 + dataLength + payloadLength) return;
      const data = { ...(header.data ?? {}) };
      if (dataLength > 0) Object.assign(data, JSON.parse(this.buffer.subarray(newline + 1, newline + 1 + dataLength).toString("utf8")));
      this.buffer = this.buffer.subarray(newline + 1 + dataLength + payloadLength);
      this.events.push({ type: header.type, data, at: performance.now() });
    }
  }
}

/** Sends `pcm` (PCM16 at `rate`, `channels` interleaved) as audio-chunk events of `chunkMs`, paced in real time when `paced`. */
export async function sendAudio(client: WyomingClient, pcm: Buffer, format: { rate: number; channels: number }, options: { chunkMs?: number; paced?: boolean } = {}): Promise<void> {
  const chunkMs = options.chunkMs ?? 100;
  const frameBytes = 2 * format.channels;
  const chunkBytes = Math.round((format.rate * chunkMs) / 1000) * frameBytes;
  const started = performance.now();
  for (let at = 0, index = 0; at < pcm.length; at += chunkBytes, index++) {
    if (client.isClosed) return;
    client.send("audio-chunk", { rate: format.rate, width: 2, channels: format.channels }, pcm.subarray(at, at + chunkBytes));
    if (options.paced) {
      const due = started + (index + 1) * chunkMs;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
    }
  }
}
