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
// honest) unless --model names a real one. Transports: the WebSocket (and WebRTC where the server offers it, see
// docs/realtime.md).
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

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
    "server-arg": { type: "string", multiple: true, default: [] },
  },
});
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

/** 24 kHz mono PCM16 of a file, through FFmpeg. */
function decode(file: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(resolveFfmpegPath(), ["-v", "error", "-i", file, "-ac", "1", "-ar", String(RATE), "-f", "s16le", "-"], { stdio: ["ignore", "pipe", "inherit"] });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`ffmpeg exited ${code} on ${file}`))));
  });
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

interface TurnTiming {
  firstDeltaMs: number | undefined;
  whileSpeaking: boolean;
  finalMs: number;
}

/** One utterance through one live session, paced in real time. */
async function liveTurn(url: string, pcm: Buffer, delay: string): Promise<TurnTiming> {
  const socket = new WebSocket(`${url.replace(/^http/, "ws")}/v1/realtime?intent=transcription`);
  const events: Array<{ type: string; t: number; [key: string]: any }> = [];
  let wake = () => {};
  socket.on("message", (data) => {
    events.push({ ...JSON.parse(data.toString()), t: performance.now() });
    wake();
  });
  await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
  const waitFor = async (type: string) => {
    for (;;) {
      const found = events.find((e) => e.type === type);
      if (found) return found;
      if (events.some((e) => e.type === "error")) throw new Error(JSON.stringify(events.find((e) => e.type === "error")));
      await new Promise<void>((resolve) => (wake = resolve));
    }
  };
  // "off": no live text (whisper-1, no delay), the baseline for speech end → completed.
  const transcription = delay === "off" ? { model: "whisper-1", language: "en" } : { model: "gpt-live-transcribe", language: "en", delay };
  socket.send(JSON.stringify({ type: "session.update", session: { type: "transcription", audio: { input: { transcription } } } }));
  await waitFor("session.updated");
  const chunk = Math.round(RATE * 0.1) * 2;
  const started = performance.now();
  for (let offset = 0, n = 0; offset < pcm.length; offset += chunk, n++) {
    socket.send(JSON.stringify({ type: "input_audio_buffer.append", audio: pcm.subarray(offset, offset + chunk).toString("base64") }));
    await sleep(Math.max(0, started + (n + 1) * 100 - performance.now()));
  }
  const completed = await waitFor("conversation.item.input_audio_transcription.completed");
  socket.close();
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
  const speech = await utterances(Number(args.files));
  console.log(`model: ${args.model ?? `generated test model (${args.preset})`}; ${speech.length} utterances (${speech.map((s) => s.name).join(", ")})`);
  console.log("\nWebSocket, one session, per delay level (medians):");
  console.log("level    | speech start → first delta | first delta while speaking | speech end → completed");
  for (const level of args.levels.split(",")) {
    const timings: TurnTiming[] = [];
    for (const { pcm } of speech) timings.push(await liveTurn(server.url, pcm, level));
    const first = timings.flatMap((t) => (t.firstDeltaMs === undefined ? [] : [t.firstDeltaMs]));
    console.log(
      `${level.padEnd(8)} | ${ms(median(first)).padStart(26)} | ${`${timings.filter((t) => t.whileSpeaking).length}/${timings.length}`.padStart(26)} | ${ms(median(timings.map((t) => t.finalMs))).padStart(22)}`,
    );
  }
  console.log("\nConcurrent live sessions (delay medium, each on its own utterance, all paced in real time):");
  console.log("sessions | server CPU (100% = 1 core) | speech end → completed (median) | first delta (median)");
  for (const count of args.sessions.split(",").map(Number)) {
    const cpu0 = cpuSeconds(server.pid);
    const t0 = performance.now();
    const timings = await Promise.all(Array.from({ length: count }, (_, i) => liveTurn(server.url, speech[i % speech.length]!.pcm, "medium")));
    const cpu = ((cpuSeconds(server.pid) - cpu0) / ((performance.now() - t0) / 1000)) * 100;
    const first = timings.flatMap((t) => (t.firstDeltaMs === undefined ? [] : [t.firstDeltaMs]));
    console.log(`${String(count).padStart(8)} | ${`${cpu.toFixed(0)} %`.padStart(26)} | ${ms(median(timings.map((t) => t.finalMs))).padStart(31)} | ${ms(median(first)).padStart(20)}`);
  }
} finally {
  server.stop();
}
