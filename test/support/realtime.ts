// Realtime test fixtures: synthesized sentences with known silences between them, as 24 kHz PCM16 (the API's
// default input), resampled by real FFmpeg; and a raw `ws` client that records every server event.
import { expect } from "vitest";
import { WebSocket, type ClientOptions } from "ws";

import { runFfmpeg, synthesizeSpeech } from "./speech.js";

export const REALTIME_RATE = 24_000;
export const COMPLETED = "conversation.item.input_audio_transcription.completed";

/** `ms` of silence as realtime input: PCM16 at REALTIME_RATE. */
export function silentPcm(ms: number): Buffer {
  return Buffer.alloc(Math.round((ms / 1000) * REALTIME_RATE) * 2);
}

export interface SpokenTurns {
  /** PCM16 LE mono at 24 kHz. */
  pcm: Buffer;
  /** Where each sentence's speech is, in ms from the start. */
  sentences: Array<{ startMs: number; endMs: number }>;
}

/** Float samples at `rate` → PCM16 at 24 kHz, through FFmpeg's resampler. */
async function toPcm24k(samples: Float32Array, rate: number): Promise<Buffer> {
  const bytes = new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
  const { stdout } = await runFfmpeg(["-loglevel", "error", "-f", "f32le", "-ar", String(rate), "-ac", "1", "-i", "pipe:0", "-ar", String(REALTIME_RATE), "-f", "s16le", "pipe:1"], bytes);
  return stdout;
}

/** PCM16 at 24 kHz → PCM16 at `rate`, through FFmpeg's resampler. */
export async function resamplePcm16(pcm: Buffer, rate: number): Promise<Buffer> {
  const { stdout } = await runFfmpeg(["-loglevel", "error", "-f", "s16le", "-ar", String(REALTIME_RATE), "-ac", "1", "-i", "pipe:0", "-ar", String(rate), "-f", "s16le", "pipe:1"], pcm);
  return stdout;
}

/** `leadMs` of silence, then each sentence followed by `gapMs` of silence. */
export async function spokenTurns(sentences: string[], options: { gapMs?: number; leadMs?: number } = {}): Promise<SpokenTurns> {
  const gapMs = options.gapMs ?? 1500;
  const leadMs = options.leadMs ?? 500;
  const parts: Buffer[] = [Buffer.alloc(Math.round((leadMs / 1000) * REALTIME_RATE) * 2)];
  const spans: SpokenTurns["sentences"] = [];
  let ms = leadMs;
  for (const sentence of sentences) {
    const speech = await synthesizeSpeech(sentence);
    const pcm = await toPcm24k(speech.samples, speech.sampleRate);
    const durationMs = (pcm.length / 2 / REALTIME_RATE) * 1000;
    spans.push({ startMs: ms, endMs: ms + durationMs });
    parts.push(pcm, Buffer.alloc(Math.round((gapMs / 1000) * REALTIME_RATE) * 2));
    ms += durationMs + gapMs;
  }
  return { pcm: Buffer.concat(parts), sentences: spans };
}

export interface ServerEvent {
  type: string;
  event_id: string;
  [key: string]: any;
}

/** A raw realtime client: records every server event and waits for the ones a test expects. */
export class RealtimeClient {
  readonly events: ServerEvent[] = [];
  private waiters: Array<() => void> = [];
  closed: { code: number; reason: string } | undefined;

  private constructor(readonly socket: WebSocket) {
    socket.on("message", (data) => {
      this.events.push({ ...(JSON.parse(data.toString()) as ServerEvent), t: Date.now() });
      this.wake();
    });
    socket.on("close", (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
  }

  /** Connects and waits for the session's announcement (`session.created`, or `transcription_session.created` for beta). */
  static async open(url: string, options: Parameters<typeof RealtimeClient.connect>[1] = {}, created = "session.created"): Promise<RealtimeClient> {
    const client = await RealtimeClient.connect(url, options);
    await client.next(created);
    return client;
  }

  /** Connects to `url` (ws:// or wss://) and resolves once the socket is open. */
  static connect(url: string, options: { protocols?: string[]; headers?: Record<string, string> } & ClientOptions = {}): Promise<RealtimeClient> {
    const { protocols, ...rest } = options;
    const socket = new WebSocket(url, protocols ?? [], rest);
    const client = new RealtimeClient(socket);
    return new Promise((resolve, reject) => {
      socket.once("open", () => resolve(client));
      socket.once("unexpected-response", (_request, response) => {
        let body = "";
        response.on("data", (chunk: Buffer) => (body += chunk.toString()));
        response.on("end", () => reject(Object.assign(new Error(`HTTP ${response.statusCode}: ${body}`), { status: response.statusCode, body })));
      });
      socket.once("error", reject);
    });
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  send(event: Record<string, unknown>): void {
    this.socket.send(JSON.stringify(event));
  }

  /** Appends PCM in chunks of `chunkMs`; paced in real time when `realtime`, else as fast as the socket takes it. */
  async streamAudio(pcm: Buffer, options: { chunkMs?: number; realtime?: boolean; bytesPerSecond?: number } = {}): Promise<void> {
    const bytesPerSecond = options.bytesPerSecond ?? REALTIME_RATE * 2;
    const chunkMs = options.chunkMs ?? 100;
    const chunkBytes = Math.round((bytesPerSecond * chunkMs) / 1000 / 2) * 2;
    const started = Date.now();
    for (let offset = 0, n = 0; offset < pcm.length; offset += chunkBytes, n++) {
      this.send({ type: "input_audio_buffer.append", audio: pcm.subarray(offset, offset + chunkBytes).toString("base64") });
      if (options.realtime) {
        const due = started + (n + 1) * chunkMs;
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
      } else if (this.socket.bufferedAmount > 1_000_000) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
  }

  /** Events of `type` received so far. */
  all(type: string): ServerEvent[] {
    return this.events.filter((e) => e.type === type);
  }

  /** Waits until `check` passes over the events received so far. */
  async until<T>(what: string, check: (events: ServerEvent[]) => T | undefined | false, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const result = check(this.events);
      if (result) return result;
      if (this.closed) throw new Error(`socket closed (${this.closed.code} ${this.closed.reason}) while waiting for ${what}; got ${this.types()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${this.types()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The `index`-th event of `type` (waiting for it). */
  next(type: string, index = 0, timeoutMs?: number): Promise<ServerEvent> {
    return this.until(`${type} #${index}`, (events) => events.filter((e) => e.type === type)[index], timeoutMs);
  }

  /** The number of `type` events once it reaches `count`. */
  count(type: string, count: number, timeoutMs?: number): Promise<ServerEvent[]> {
    return this.until(`${count} × ${type}`, (events) => {
      const matching = events.filter((e) => e.type === type);
      return matching.length >= count ? matching : undefined;
    }, timeoutMs);
  }

  types(): string {
    return this.events.map((e) => e.type).join(", ") || "nothing";
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once("close", () => resolve());
      this.socket.close();
    });
  }
}

/** The HTTP answer of an upgrade the server refuses (status and parsed OpenAI error body); fails if it is accepted. */
export async function refusal(url: string, options: Parameters<typeof RealtimeClient.connect>[1] = {}): Promise<{ status: number; body: any }> {
  const error = (await RealtimeClient.connect(url, options).then(
    async (client) => {
      await client.close();
      throw new Error("the connection was accepted");
    },
    (e: unknown) => e,
  )) as { status?: number; body?: string };
  expect(error.status, String(error)).toBeDefined();
  return { status: error.status!, body: JSON.parse(error.body!) };
}

/** ws://host/v1/realtime?intent=transcription for a test server URL. */
export function realtimeUrl(serverUrl: string, query = "intent=transcription"): string {
  return `${serverUrl.replace(/^http/, "ws")}/v1/realtime?${query}`;
}
