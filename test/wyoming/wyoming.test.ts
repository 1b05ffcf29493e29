// The Wyoming listener (Home Assistant's speech-to-text protocol) against a real server, from a client written from
// the protocol's definition (test/support/wyoming.ts): describe/info; transcriptions at 16, 8 and 22.05 kHz (stereo
// mixed down), streamed (transcript-chunk events while the audio is still being sent, in real time) and at once;
// the final transcript is the chunks joined (deltas are append-only, the last one comes before `completed`); every
// kind of bad input closes its own connection only; a vanished client frees its session; the session cap; a drain
// completes the utterance in progress; the mDNS announcement answers a `_wyoming._tcp` query.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import makeMdns from "multicast-dns";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { getTestModelPath } from "../../src/models/testModel/index.js";
import { freePort } from "../support/loopbackPorts.js";
import { resamplePcm16, spokenTurns, type SpokenTurns } from "../support/realtime.js";
import { getParakeetTestModelPath } from "../../src/models/testModel/parakeet/index.js";
import { startTestServer, type TestServer, waitFor } from "../support/server.js";
import { sendAudio, WyomingClient } from "../support/wyoming.js";

const VERSION = (JSON.parse(fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

let server: TestServer;
let speech: SpokenTurns;
/** The speech at 16 kHz, mono. */
let pcm16k: Buffer;
/** A longer utterance at 16 kHz (about 7 s: live passes agree before its end on a loaded machine too). */
let longSpeech: SpokenTurns;
let long16k: Buffer;
const port = () => server.server.wyoming!.port;
const sessions = () => server.server.app.realtime.stats();

beforeAll(async () => {
  // delay minimal: a word is sent once one live pass has it (and a later word follows it), so chunks come before the
  // utterance ends on a loaded 2-core machine too; the default (low) waits for two passes to agree.
  server = await startTestServer({ wyoming: "127.0.0.1:0", wyomingDelay: "minimal", aliases: `whisper-1,parakeet=${await getParakeetTestModelPath("tiny")}` });
  speech = await spokenTurns(["The quick brown fox jumps over the lazy dog near the river bank."], { leadMs: 300, gapMs: 300 });
  pcm16k = await resamplePcm16(speech.pcm, 16_000);
  longSpeech = await spokenTurns(["Earshot is a self hosted speech to text server. It accepts audio in many formats and answers quickly."], { leadMs: 300, gapMs: 300 });
  long16k = await resamplePcm16(longSpeech.pcm, 16_000);
});

afterAll(async () => {
  await server?.close();
});

/** transcribe, audio-start, the audio, audio-stop; resolves with the transcript and when audio-stop was sent. */
async function transcribe(client: WyomingClient, pcm: Buffer, format: { rate: number; channels: number }, paced: boolean) {
  client.send("transcribe", { language: "en" });
  const started = performance.now();
  client.send("audio-start", { rate: format.rate, width: 2, channels: format.channels });
  await sendAudio(client, pcm, format, { paced });
  const stoppedAt = performance.now();
  client.send("audio-stop");
  const transcript = await client.next("transcript");
  await client.next("transcript-stop");
  return { started, stoppedAt, transcript };
}

/** Interleaves `pcm` (mono PCM16) into two channels: the speech on the left, its inverse halved on the right. */
function stereo(pcm: Buffer): Buffer {
  const out = Buffer.alloc(pcm.length * 2);
  for (let i = 0; i < pcm.length / 2; i++) {
    const sample = pcm.readInt16LE(i * 2);
    out.writeInt16LE(sample, i * 4);
    out.writeInt16LE(Math.round(sample / 2), i * 4 + 2);
  }
  return out;
}

describe("Wyoming", () => {
  it("answers describe with one asr program: the served models and aliases, their languages, streaming", async () => {
    const client = await WyomingClient.connect(port());
    client.send("describe");
    const info = await client.next("info");
    const [asr] = info.data.asr;
    expect(info.data.asr).toHaveLength(1);
    expect(asr).toMatchObject({ name: "earshot", installed: true, version: VERSION, supports_transcript_streaming: true, requires_external_vad: true });
    expect(asr.attribution).toEqual({ name: expect.any(String), url: expect.stringMatching(/^https:\/\//) });
    const names = asr.models.map((model: { name: string }) => model.name);
    expect(names).toEqual(server.server.models.list().map((served) => served.id));
    expect(names).toContain("whisper-1");
    for (const model of asr.models) {
      expect(model).toMatchObject({ installed: true, attribution: asr.attribution });
      expect(model.languages).toContain("en");
    }
    // Each model's own languages: the multilingual Whisper test model all of whisper's, the English Parakeet one "en".
    const byName = (name: string) => asr.models.find((model: { name: string }) => model.name === name);
    expect(byName("whisper-1").languages.length).toBeGreaterThan(90);
    expect(byName("parakeet")).toMatchObject({ languages: ["en"], description: expect.stringContaining("Parakeet") });
    client.close();
    await client.closed;
  });

  it("streams transcript-chunk events while the audio is still being sent (real time), and the transcript is the chunks joined", async () => {
    const client = await WyomingClient.connect(port());
    const { started, stoppedAt, transcript } = await transcribe(client, long16k, { rate: 16_000, channels: 1 }, true);
    const start = await client.next("transcript-start");
    const chunks = client.of("transcript-chunk");
    const early = chunks.filter((chunk) => chunk.at < stoppedAt);
    expect(early.length).toBeGreaterThan(0);
    expect(start.at).toBeLessThan(chunks[0]!.at);
    expect(chunks.every((chunk) => chunk.at < transcript.at)).toBe(true);
    expect(transcript.data.text.length).toBeGreaterThan(0);
    expect(chunks.map((chunk) => chunk.data.text).join("")).toBe(transcript.data.text);
    expect(transcript.data.language).toBe("en");
    const order = client.events.map((event) => event.type).filter((type) => type.startsWith("transcript"));
    expect(order.at(-2)).toBe("transcript");
    expect(order.at(-1)).toBe("transcript-stop");
    // The figures for the note (this machine, the generated model, 2 cores).
    const speechStart = started + longSpeech.sentences[0]!.startMs;
    console.log(
      `wyoming latency: first transcript-chunk ${Math.round(chunks[0]!.at - speechStart)} ms after speech start ` +
        `(${early.length} of ${chunks.length} chunks before audio-stop); transcript ${Math.round(transcript.at - stoppedAt)} ms after audio-stop`,
    );
    client.close();
    await client.closed;
  });

  it("transcribes audio sent at once at 8 kHz (data in the header line, as older clients write it) and at 22.05 kHz in stereo", async () => {
    const at8k = await resamplePcm16(speech.pcm, 8_000);
    const client = await WyomingClient.connect(port());
    client.send("transcribe", {}, undefined, { inlineData: true });
    client.send("audio-start", { rate: 8_000, width: 2, channels: 1 }, undefined, { inlineData: true });
    for (let at = 0; at < at8k.length; at += 1600) client.send("audio-chunk", { rate: 8_000, width: 2, channels: 1 }, at8k.subarray(at, at + 1600), { inlineData: true });
    client.send("audio-stop", {}, undefined, { inlineData: true });
    const transcript = await client.next("transcript");
    expect(transcript.data.text.length).toBeGreaterThan(0);
    expect(client.of("transcript-chunk").map((chunk) => chunk.data.text).join("")).toBe(transcript.data.text);

    // The same connection takes the next utterance.
    const at22k = stereo(await resamplePcm16(speech.pcm, 22_050));
    client.send("audio-start", { rate: 22_050, width: 2, channels: 2 });
    await sendAudio(client, at22k, { rate: 22_050, channels: 2 }, { chunkMs: 250 });
    client.send("audio-stop");
    const second = await client.next("transcript", 60_000, 1);
    expect(second.data.text.length).toBeGreaterThan(0);
    expect(client.of("transcript-stop")).toHaveLength(2);
    client.close();
    await client.closed;
    await waitFor("the sessions closed", async () => sessions().sessions === 0, 5_000);
  });

  it("an utterance too short to transcribe gets an empty transcript", async () => {
    const client = await WyomingClient.connect(port());
    client.send("audio-start", { rate: 16_000, width: 2, channels: 1 });
    client.send("audio-chunk", { rate: 16_000, width: 2, channels: 1 }, Buffer.alloc(320));
    client.send("audio-stop");
    expect((await client.next("transcript")).data.text).toBe("");
    await client.next("transcript-stop");
    client.close();
  });

  const badInputs: Array<[string, (client: WyomingClient) => void]> = [
    ["a header line that is not JSON", (client) => client.writeRaw("this is not json\n")],
    ["a header line without a type", (client) => client.writeRaw('{"data":{}}\n')],
    ["a header line that never ends", (client) => client.writeRaw(Buffer.alloc(70 * 1024, 0x61))],
    [
      "a payload longer than declared",
      (client) => {
        client.send("audio-start", { rate: 16_000, width: 2, channels: 1 });
        client.writeRaw(Buffer.concat([Buffer.from('{"type":"audio-chunk","payload_length":4}\n'), Buffer.alloc(10), Buffer.from('{"type":"describe"}\n')]));
      },
    ],
    ["a payload over the limit", (client) => client.writeRaw('{"type":"audio-chunk","payload_length":2000000}\n')],
    ["an unknown event", (client) => client.send("synthesize", { text: "hello" })],
    ["audio-chunk without audio-start", (client) => client.send("audio-chunk", { rate: 16_000, width: 2, channels: 1 }, Buffer.alloc(3200))],
    ["audio-stop without audio-start", (client) => client.send("audio-stop")],
    ["an absurd rate", (client) => client.send("audio-start", { rate: 1_000_000_000, width: 2, channels: 1 })],
    ["a width other than 2", (client) => client.send("audio-start", { rate: 16_000, width: 4, channels: 1 })],
    ["absurd channels", (client) => client.send("audio-start", { rate: 16_000, width: 2, channels: 1000 })],
  ];

  it.each(badInputs)("%s closes that connection with an error event; another connection goes on", async (_name, misbehave) => {
    const bystander = await WyomingClient.connect(port());
    bystander.send("audio-start", { rate: 16_000, width: 2, channels: 1 });
    const bad = await WyomingClient.connect(port());
    misbehave(bad);
    const error = await bad.next("error", 5_000);
    expect(error.data).toMatchObject({ code: "bad_input", text: expect.any(String) });
    await bad.closed;
    await sendAudio(bystander, pcm16k.subarray(0, 32_000), { rate: 16_000, channels: 1 });
    bystander.send("audio-stop");
    await bystander.next("transcript");
    expect(bystander.isClosed).toBe(false);
    bystander.close();
    await bystander.closed;
    await waitFor("the sessions closed", async () => sessions().sessions === 0, 5_000);
  });

  it("an utterance longer than the realtime buffer limit closes the connection", async () => {
    const strict = await startTestServer({ wyoming: "127.0.0.1:0", realtimeMaxBufferSeconds: "1" });
    try {
      const client = await WyomingClient.connect(strict.server.wyoming!.port);
      client.send("audio-start", { rate: 16_000, width: 2, channels: 1 });
      await sendAudio(client, pcm16k.subarray(0, 64_000), { rate: 16_000, channels: 1 });
      expect((await client.next("error", 5_000)).data.text).toMatch(/longer than 1 s/);
      await client.closed;
      await waitFor("the session closed", async () => strict.server.app.realtime.stats().sessions === 0, 5_000);
    } finally {
      await strict.close();
    }
  });

  it("a client that vanishes mid-utterance frees its session", async () => {
    const client = await WyomingClient.connect(port());
    client.send("transcribe", { language: "en" });
    client.send("audio-start", { rate: 16_000, width: 2, channels: 1 });
    await sendAudio(client, pcm16k.subarray(0, 64_000), { rate: 16_000, channels: 1 });
    await waitFor("the audio held", async () => sessions().heldBytes > 0, 5_000);
    expect(sessions().sessions).toBe(1);
    client.socket.destroy();
    await waitFor("the session freed", async () => sessions().sessions === 0 && sessions().heldBytes === 0, 5_000);
  });
});

describe("Wyoming at the session cap and at shutdown", () => {
  it("counts against the realtime session cap; a drain completes the utterance in progress, then closes; new connections are refused", async () => {
    const draining = await startTestServer({ wyoming: "127.0.0.1:0", realtimeMaxSessions: "1" });
    let closing: Promise<void> | undefined;
    try {
      const wyomingPort = draining.server.wyoming!.port;
      const client = await WyomingClient.connect(wyomingPort);
      client.send("transcribe", { language: "en" });
      client.send("audio-start", { rate: 16_000, width: 2, channels: 1 });
      await sendAudio(client, pcm16k.subarray(0, 3 * 32_000), { rate: 16_000, channels: 1 });
      await waitFor("the audio held", async () => draining.server.app.realtime.stats().heldBytes > 0, 5_000);

      const over = await WyomingClient.connect(wyomingPort);
      expect((await over.next("error", 5_000)).data.text).toMatch(/Too many realtime sessions/);
      await over.closed;

      closing = draining.close();
      const late = await WyomingClient.connect(wyomingPort);
      expect((await late.next("error", 5_000)).data).toEqual({ text: "The server is shutting down.", code: "server_shutting_down" });
      await late.closed;
      const transcript = await client.next("transcript", 60_000);
      expect(transcript.data.text.length).toBeGreaterThan(0);
      await client.next("transcript-stop");
      await client.closed;
      await waitFor("the session closed", async () => draining.server.app.realtime.stats().sessions === 0, 5_000);
    } finally {
      await (closing ?? draining.close());
    }
  });
});

describe("Wyoming at SIGTERM", () => {
  it("`earshot serve --wyoming` answers the utterance in progress, closes the connection and exits 0", async () => {
    const wyomingPort = await freePort();
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("EARSHOT_")));
    const args = ["--import", "tsx", path.resolve("src", "cli", "main.ts"), "serve", "--model", await getTestModelPath("tiny"), "--host", "127.0.0.1", "--port", "0"];
    const child = spawn(process.execPath, [...args, "--wyoming", `127.0.0.1:${wyomingPort}`], { env, stdio: ["ignore", "pipe", "pipe"] });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      let log = "";
      child.stdout!.on("data", (chunk: Buffer) => (log += chunk.toString()));
      child.stderr!.on("data", (chunk: Buffer) => (log += chunk.toString()));
      await waitFor("serving Wyoming", async () => log.includes("serving Wyoming"), 60_000);
      const client = await WyomingClient.connect(wyomingPort);
      client.send("transcribe", { language: "en" });
      client.send("audio-start", { rate: 16_000, width: 2, channels: 1 });
      await sendAudio(client, pcm16k.subarray(0, 2 * 32_000), { rate: 16_000, channels: 1 }, { paced: true });
      child.kill("SIGTERM");
      const transcript = await client.next("transcript", 30_000);
      expect(transcript.data.text.length).toBeGreaterThan(0);
      await client.closed;
      expect(client.events.map((event) => event.type).at(-1)).toBe("transcript-stop");
      expect(await exited).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
  });
});

describe("Wyoming zeroconf", () => {
  it("answers a _wyoming._tcp query with PTR, SRV (the listener's port), TXT and A records", async () => {
    const announced = await startTestServer({ wyoming: "127.0.0.1:0", wyomingZeroconf: "yes" });
    // On the loopback interface only, as the listener on 127.0.0.1 announces: no multicast leaves the machine.
    const querier = makeMdns({ reuseAddr: true, loopback: true, interface: "127.0.0.1", bind: "0.0.0.0" });
    try {
      const records = await new Promise<Array<{ name: string; type: string; data: any }>>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no mDNS answer for _wyoming._tcp.local")), 5_000);
        querier.on("response", (response) => {
          const all = [...(response.answers ?? []), ...(response.additionals ?? [])] as Array<{ name: string; type: string; data: any }>;
          if (all.some((record) => record.type === "SRV" && record.data?.port === announced.server.wyoming!.port)) {
            clearTimeout(timer);
            resolve(all);
          }
        });
        querier.query({ questions: [{ name: "_wyoming._tcp.local", type: "PTR" }] });
      });
      expect(records.find((record) => record.type === "PTR")).toMatchObject({ name: "_wyoming._tcp.local", data: "earshot._wyoming._tcp.local" });
      const srv = records.find((record) => record.type === "SRV")!;
      expect(records.find((record) => record.type === "A" && record.name === srv.data.target)?.data).toBe("127.0.0.1");
      expect(records.some((record) => record.type === "TXT")).toBe(true);
    } finally {
      await new Promise<void>((resolve) => querier.destroy(() => resolve()));
      await announced.close();
    }
  });
});
