// A realtime transcription client as an app behind a load balancer would write it, on the official SDK's Node
// client (`openai/realtime/ws`): it streams a recording with server VAD, and when the replica it is on starts
// shutting down (an `error` event `server_shutting_down` naming the first append it refused), it opens a new
// session through the proxy and goes on from that append there, while the old socket still delivers the
// `completed` of the turns it had committed before closing with 1001. Every session it used is kept for checks.
import OpenAI from "openai";
import { OpenAIRealtimeWS } from "openai/realtime/ws";

import { REALTIME_RATE } from "../support/realtime.js";

export const COMPLETED = "conversation.item.input_audio_transcription.completed";

/** 100 ms of 24 kHz PCM16 per append. */
const APPEND_BYTES = (REALTIME_RATE / 10) * 2;

export interface SessionRecord {
  /** The replica that served it (HAProxy's X-Earshot-Replica on the 101). */
  replica: string;
  events: Array<{ type: string; [key: string]: any }>;
  errors: string[];
  closed?: { code: number; reason: string; at: number };
  /** When its first `server_shutting_down` arrived. */
  shutdownNoticeAt?: number;
  committed(): string[];
  completed(): string[];
}

export interface TranscriberOptions {
  /** The proxy's https:// URL and the certificate to trust. */
  baseUrl: string;
  ca: string;
  apiKey: string;
  /** The recording: 24 kHz PCM16 mono. */
  pcm: Buffer;
  /** Appends are paced at this many times real time. */
  speed: number;
}

export class ReconnectingTranscriber {
  readonly sessions: SessionRecord[] = [];
  private current: { rt: OpenAIRealtimeWS; record: SessionRecord } | undefined;
  /** Set when the session in use refused an append: where to resume, on a new session. */
  private resumeAt: number | undefined;
  private sentBytes = 0;

  constructor(private readonly options: TranscriberOptions) {}

  /** Opens a session through the proxy and sets it up for server-VAD transcription of 24 kHz PCM. */
  private async connect(): Promise<{ rt: OpenAIRealtimeWS; record: SessionRecord }> {
    const client = new OpenAI({ apiKey: this.options.apiKey, baseURL: `${this.options.baseUrl}/v1` });
    const rt = await OpenAIRealtimeWS.create(client, { model: "whisper-1", options: { ca: this.options.ca } });
    const events: SessionRecord["events"] = [];
    const record: SessionRecord = {
      replica: "",
      events,
      errors: [],
      committed: () => events.filter((e) => e.type === "input_audio_buffer.committed").map((e) => e.item_id as string),
      completed: () => events.filter((e) => e.type === COMPLETED).map((e) => e.item_id as string),
    };
    this.sessions.push(record);
    rt.socket.once("upgrade", (response) => (record.replica = String(response.headers["x-earshot-replica"] ?? "")));
    rt.on("event", (event) => {
      events.push({ ...event, at: Date.now() });
      if (event.type === "error" && event.error.code === "server_shutting_down" && this.current?.record === record) {
        // The replica refused this append and every later one: resume from it on another session.
        record.shutdownNoticeAt = Date.now();
        this.resumeAt = Number(/^append-(\d+)$/.exec(event.error.event_id ?? "")?.[1] ?? this.sentBytes);
        this.current = undefined;
      }
    });
    rt.on("error", (error) => {
      if (error.error?.code !== "server_shutting_down") record.errors.push(error.message);
    });
    await new Promise<void>((resolve, reject) => {
      rt.socket.once("open", () => resolve());
      rt.socket.once("error", reject);
    });
    rt.socket.on("close", (code, reason) => (record.closed = { code, reason: reason.toString(), at: Date.now() }));
    rt.send({
      type: "session.update",
      session: { type: "transcription", audio: { input: { format: { type: "audio/pcm", rate: REALTIME_RATE }, transcription: { model: "whisper-1", language: "en" } } } },
    });
    await new Promise<void>((resolve) => rt.once("session.updated", () => resolve()));
    return { rt, record };
  }

  /** Opens the first session; resolves with the replica it landed on. */
  async open(): Promise<string> {
    this.current = await this.connect();
    return this.current.record.replica;
  }

  /** Streams the whole recording (reconnecting as needed), then waits until every session has answered every committed turn. */
  async stream(): Promise<void> {
    const { pcm, speed } = this.options;
    const started = Date.now();
    let offset = 0;
    let paced = 0;
    while (offset < pcm.length) {
      if (this.resumeAt !== undefined || !this.current) {
        offset = this.resumeAt ?? offset;
        this.resumeAt = undefined;
        this.current = await this.connect();
      }
      const chunk = pcm.subarray(offset, offset + APPEND_BYTES);
      this.current.rt.send({ type: "input_audio_buffer.append", audio: chunk.toString("base64"), event_id: `append-${offset}` });
      this.sentBytes = offset;
      offset += chunk.length;
      paced += chunk.length;
      const due = started + ((paced / 2 / REALTIME_RATE) * 1000) / speed;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
    }
    // The recording ends in silence: the last turn's commit is on its way.
    const last = this.current?.record;
    const deadline = Date.now() + 10_000;
    while (last && !last.closed && last.events.filter((e) => e.type === "input_audio_buffer.speech_started").length > last.committed().length && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await this.settled();
  }

  /** Waits (up to `timeoutMs`) until every session's committed turns all have their `completed` (or the session closed). */
  async settled(timeoutMs = 150_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const open = () => this.sessions.filter((s) => !s.closed && s.completed().length < s.committed().length);
    while (open().length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  }

  /** One line per session, for a test's output. */
  describe(): string {
    return this.sessions
      .map((s) => `${s.replica}: committed ${s.committed().length}, completed ${s.completed().length}, closed ${s.closed?.code ?? "no"}, errors ${s.errors.length}; ${s.events.slice(-6).map((e) => e.type).join(" ")}`)
      .join("\n");
  }

  async close(): Promise<void> {
    const current = this.current;
    this.current = undefined;
    if (!current || current.record.closed) return;
    await new Promise<void>((resolve) => {
      current.rt.socket.once("close", () => resolve());
      current.rt.close();
    });
  }
}
