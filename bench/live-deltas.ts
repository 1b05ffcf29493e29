// Live transcription latency: real speech paced in real time into one Earshot server, per `delay` level, and how
// many live sessions the machine holds.
//
//   npm run bench:live
//   npm run bench:live -- --files 6 --levels minimal,medium,xhigh --sessions 1,2,4 --model base
//
// Each utterance (LibriSpeech from ../shared/data/librispeech, or eSpeak-NG speech when that folder is absent) is
// sent as 24 kHz PCM16 in 100-ms appends at real-time pace, with 500 ms of silence before and 1.5 s after, to a
// session on `gpt-live-transcribe` with server VAD and the given `delay`. Reported per level (medians over the
// utterances): speech start → first delta, whether that delta came while the speaker was still talking, speech end
// → `completed`. Speech start and end are the server VAD's (audio_start_ms + prefix padding, audio_end_ms − silence
// duration), on the audio timeline the client paces in real time. Then N sessions at once (level medium): the
// server's CPU (100 % = one core busy) and the speech end → completed median, which grows once the machine cannot
// keep up. The model is the generated test model (real shapes, seeded weights: the text is junk, the timings are
// honest) unless --model names a real one. Transports: the WebSocket (24 kHz PCM16 appends every 100 ms) and a
// WebRTC call from Node (werift, the server's own stack: 20-ms Opus packets from libopus, five every 100 ms), each
// utterance over both in turn.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { type RTCDataChannel, RTCPeerConnection, RtpHeader, RtpPacket, useOPUS } from "werift";
import { WebSocket } from "ws";

import { resolveFfmpegPath } from "../src/audio/ffmpeg/ffmpegPath.js";
import { getTestModelPath } from "../src/models/testModel/index.js";
import { killOnExit, serverUrl } from "./serverUrl.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { values: args } = parseArgs({
  options: {
    files: { type: "string", default: "4" },
    levels: { type: "string", default: "off,minimal,low,medium,high,xhigh" },
    sessions: { type: "string", default: "1,2,4" },
    model: { type: "string" },
    preset: { type: "string", default: "tiny" },
    transports: { type: "string", default: "websocket,webrtc" },
    "server-arg": { type: "string", multiple: true, default: [] },
  },
});
const TRANSPORTS = args.transports.split(",") as Transport[];
const RATE = 24_000;
const LEAD_MS = 500;
const TAIL_MS = 1500;
const PREFIX_PADDING_MS = 300;
const SILENCE_MS = 500;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function startServer(): Promise<{ url: string; pid: number; stop(): void }> {
  const model = args.model ?? (await getTestModelPath(args.preset as "tiny"));
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("EARSHOT_")));
  const child = spawn(
    process.execPath,
    ["--import", "tsx", path.join(root, "src", "cli", "main.ts"), "serve", "--model", model, "--host", "127.0.0.1", "--port", "0", "--log-level", "warn", ...args["server-arg"]],
    { cwd: root, env, stdio: ["ignore", "ignore", "pipe"] },
  );
  killOnExit(child);
  return { url: await serverUrl(child), pid: child.pid!, stop: () => child.kill("SIGTERM") };
}

function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** FFmpeg's output for `file` with `args` (an input on stdin when `input` is given). */
function ffmpeg(args: string[], input?: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(resolveFfmpegPath(), ["-v", "error", ...args], { stdio: [input ? "pipe" : "ignore", "pipe", "inherit"] });
    if (input) child.stdin!.end(input);
    const chunks: Buffer[] = [];
    child.stdout!.on("data", (chunk: Buffer) => chunks.push(chunk));
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`ffmpeg exited ${code}: ${args.join(" ")}`))));
  });
}

/** 24 kHz mono PCM16 of a file. */
const decode = (file: string) => ffmpeg(["-i", file, "-ac", "1", "-ar", String(RATE), "-f", "s16le", "-"]);

/** The PCM as 20-ms Opus packets, as a browser sends its microphone (libopus through FFmpeg, then the Ogg pages read). */
async function opusPackets(pcm: Buffer): Promise<Buffer[]> {
  const ogg = await ffmpeg(["-f", "s16le", "-ar", String(RATE), "-ac", "1", "-i", "-", "-c:a", "libopus", "-b:a", "32k", "-frame_duration", "20", "-application", "voip", "-f", "ogg", "-"], pcm);
  const packets: Buffer[] = [];
  let partial: Buffer[] = [];
  for (let at = 0; at + 27 <= ogg.length; ) {
    const segments = ogg[at + 26]!;
    const lacing = ogg.subarray(at + 27, at + 27 + segments);
    let body = at + 27 + segments;
    for (const size of lacing) {
      partial.push(ogg.subarray(body, body + size));
      body += size;
      if (size < 255) {
        packets.push(Buffer.concat(partial));
        partial = [];
      }
    }
    at = body;
  }
  // The first two packets are the OpusHead and OpusTags headers.
  return packets.slice(2);
}

async function utterances(count: number): Promise<Array<{ name: string; pcm: Buffer }>> {
  const dir = path.join(root, "..", "shared", "data", "librispeech");
  const silence = (ms: number) => Buffer.alloc(Math.round((RATE * ms) / 1000) * 2);
  if (fs.existsSync(dir)) {
    const files = fs.readdirSync(dir).filter((f) => f.endsWith(".flac")).sort().slice(0, count);
    return Promise.all(files.map(async (f) => ({ name: f, pcm: Buffer.concat([silence(LEAD_MS), await decode(path.join(dir, f)), silence(TAIL_MS)]) })));
  }
  const { spokenTurns } = await import("../test/support/realtime.js");
  const turns = await spokenTurns(["Earshot is a self hosted speech to text server. It accepts audio in many formats."], { gapMs: TAIL_MS, leadMs: LEAD_MS });
  return [{ name: "espeak", pcm: turns.pcm }];
}

type Transport = "websocket" | "webrtc";

/** A live session over either transport: events in, client events out, audio paced in real time. */
interface LiveConnection {
  events: Array<{ type: string; t: number; [key: string]: any }>;
  send(event: Record<string, unknown>): void;
  /** Streams the utterance at real-time pace; resolves at its end with the wall time its first audio went out. */
  stream(audio: { pcm: Buffer; opus: Buffer[] }): Promise<number>;
  close(): Promise<void>;
  onEvent(listener: () => void): void;
}

async function connectWebSocket(url: string): Promise<LiveConnection> {
  const socket = new WebSocket(`${url.replace(/^http/, "ws")}/v1/realtime?intent=transcription`);
  const events: LiveConnection["events"] = [];
  let listener = () => {};
  socket.on("message", (data) => {
    events.push({ ...JSON.parse(data.toString()), t: performance.now() });
    listener();
  });
  await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
  return {
    events,
    send: (event) => socket.send(JSON.stringify(event)),
    async stream({ pcm }) {
      const chunk = Math.round(RATE * 0.1) * 2;
      const started = performance.now();
      for (let offset = 0, n = 0; offset < pcm.length; offset += chunk, n++) {
        socket.send(JSON.stringify({ type: "input_audio_buffer.append", audio: pcm.subarray(offset, offset + chunk).toString("base64") }));
        await sleep(Math.max(0, started + (n + 1) * 100 - performance.now()));
      }
      return started;
    },
    close: async () => socket.close(),
    onEvent: (next) => (listener = next),
  };
}

/** A call from Node (werift, the server's own stack): the offer to /v1/realtime/calls, `oai-events`, an Opus track. */
async function connectWebRtc(url: string): Promise<LiveConnection> {
  const pc = new RTCPeerConnection({ codecs: { audio: [useOPUS()], video: [] }, iceServers: [], iceUseIpv4: false, iceUseIpv6: false, iceAdditionalHostAddresses: ["127.0.0.1"] });
  const transceiver = pc.addTransceiver("audio", { direction: "sendonly" });
  const channel: RTCDataChannel = pc.createDataChannel("oai-events");
  const events: LiveConnection["events"] = [];
  let listener = () => {};
  channel.onMessage.subscribe((data) => {
    events.push({ ...JSON.parse(String(data)), t: performance.now() });
    listener();
  });
  const opened = new Promise<void>((resolve) => channel.stateChanged.subscribe((state) => state === "open" && resolve()));
  await pc.setLocalDescription(await pc.createOffer());
  const response = await fetch(`${url}/v1/realtime/calls`, { method: "POST", headers: { "content-type": "application/sdp" }, body: pc.localDescription!.sdp });
  const answer = await response.text();
  if (response.status !== 201) throw new Error(`call refused: ${response.status} ${answer}`);
  await pc.setRemoteDescription({ type: "answer", sdp: answer });
  await opened;
  return {
    events,
    send: (event) => channel.send(JSON.stringify(event)),
    async stream({ opus }) {
      const started = performance.now();
      // 20-ms packets, five at each 100-ms tick as the WebSocket's appends: the same pacing on both transports.
      for (let i = 0; i < opus.length; i++) {
        const header = new RtpHeader({ payloadType: 111, sequenceNumber: i & 0xffff, timestamp: (i * 960) >>> 0, ssrc: 0x5eed, marker: i === 0 });
        await transceiver.sender.sendRtp(new RtpPacket(header, opus[i]!));
        if (i % 5 === 4) await sleep(Math.max(0, started + ((i + 1) / 5) * 100 - performance.now()));
      }
      return started;
    },
    close: () => pc.close(),
    onEvent: (next) => (listener = next),
  };
}

interface TurnTiming {
  firstDeltaMs: number | undefined;
  whileSpeaking: boolean;
  finalMs: number;
}

/** One utterance through one live session, paced in real time. */
async function liveTurn(url: string, transport: Transport, audio: { pcm: Buffer; opus: Buffer[] }, delay: string): Promise<TurnTiming> {
  const connection = transport === "webrtc" ? await connectWebRtc(url) : await connectWebSocket(url);
  const { events } = connection;
  const waitFor = async (type: string) => {
    for (;;) {
      const found = events.find((e) => e.type === type);
      if (found) return found;
      const error = events.find((e) => e.type === "error");
      if (error) throw new Error(JSON.stringify(error));
      await new Promise<void>((resolve) => connection.onEvent(resolve));
    }
  };
  // "off": no live text (whisper-1, no delay), the baseline for speech end → completed.
  const transcription = delay === "off" ? { model: "whisper-1", language: "en" } : { model: "gpt-live-transcribe", language: "en", delay };
  connection.send({ type: "session.update", session: { type: "transcription", audio: { input: { transcription } } } });
  await waitFor("session.updated");
  const started = await connection.stream(audio);
  const completed = await waitFor("conversation.item.input_audio_transcription.completed");
  await connection.close();
  const speechStart = started + (await waitFor("input_audio_buffer.speech_started")).audio_start_ms + PREFIX_PADDING_MS;
  const speechEnd = started + (await waitFor("input_audio_buffer.speech_stopped")).audio_end_ms - SILENCE_MS;
  const delta = events.find((e) => e.type === "conversation.item.input_audio_transcription.delta" && e.item_id === completed.item_id);
  return {
    firstDeltaMs: delta ? delta.t - speechStart : undefined,
    whileSpeaking: delta !== undefined && delta.t < speechEnd,
    finalMs: completed.t - speechEnd,
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor((sorted.length - 1) / 2)]!;
};
const ms = (value: number) => (Number.isNaN(value) ? "—" : `${Math.round(value)} ms`);

const server = await startServer();
try {
  const speech = await Promise.all((await utterances(Number(args.files))).map(async (u) => ({ ...u, opus: await opusPackets(u.pcm) })));
  console.log(`model: ${args.model ?? `generated test model (${args.preset})`}; ${speech.length} utterances (${speech.map((s) => s.name).join(", ")})`);
  console.log("\nOne session per delay level, each utterance over each transport in turn (medians):");
  console.log("level    | transport | speech start → first delta | first delta while speaking | speech end → completed");
  for (const level of args.levels.split(",")) {
    const timings: Record<Transport, TurnTiming[]> = { websocket: [], webrtc: [] };
    for (const audio of speech) for (const transport of TRANSPORTS) timings[transport].push(await liveTurn(server.url, transport, audio, level));
    for (const transport of TRANSPORTS) {
      const of = timings[transport];
      const first = of.flatMap((t) => (t.firstDeltaMs === undefined ? [] : [t.firstDeltaMs]));
      console.log(
        `${level.padEnd(8)} | ${transport.padEnd(9)} | ${ms(median(first)).padStart(26)} | ${`${of.filter((t) => t.whileSpeaking).length}/${of.length}`.padStart(26)} | ${ms(median(of.map((t) => t.finalMs))).padStart(22)}`,
      );
    }
  }
  console.log("\nConcurrent live sessions (delay medium, each on its own utterance, all paced in real time):");
  console.log("sessions | server CPU (100% = 1 core) | speech end → completed (median) | first delta (median)");
  for (const count of args.sessions.split(",").map(Number)) {
    const cpu0 = cpuSeconds(server.pid);
    const t0 = performance.now();
    const timings = await Promise.all(Array.from({ length: count }, (_, i) => liveTurn(server.url, "websocket", speech[i % speech.length]!, "medium")));
    const cpu = ((cpuSeconds(server.pid) - cpu0) / ((performance.now() - t0) / 1000)) * 100;
    const first = timings.flatMap((t) => (t.firstDeltaMs === undefined ? [] : [t.firstDeltaMs]));
    console.log(`${String(count).padStart(8)} | ${`${cpu.toFixed(0)} %`.padStart(26)} | ${ms(median(timings.map((t) => t.finalMs))).padStart(31)} | ${ms(median(first)).padStart(20)}`);
  }
} finally {
  server.stop();
}
