// OpenAI's request rules where Earshot used to differ (issue 22), each as curl sends it (the real curl binary) and as
// the official SDK sends it, against a real server: `stream=True` (the speech-to-text guide's own curl example) and
// booleans in any letter case; `timestamp_granularities[]=segment` (OpenAI's default, which clients send with every
// format) accepted with json/text/srt/vtt while `word` still needs verbose_json; and what OpenAI refuses: `language`
// beside `languages[]`, keywords holding `<`, `>`, CR or LF. The same refusals in batch jobs, realtime `session.update`
// / `transcription_session.update` (an error event naming the session param, the update all-or-nothing) and client
// secret minting; and the guide's curl examples as written.
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";

import OpenAI, { BadRequestError, toFile } from "openai";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { RealtimeClient, realtimeUrl, type ServerEvent } from "../support/realtime.js";
import { expectNoTempFiles, makeAudioFiles, removeAudioFiles, startTestServer, WINDOW_TEXT, type AudioFiles, type TestServer } from "../support/server.js";
import { encodeWav } from "../support/speech.js";

const run = promisify(execFile);

let server: TestServer;
let client: OpenAI;
let audio: AudioFiles;
/** Two seconds of silence: answered without running whisper, so a request that is accepted costs little. */
let silence: string;

beforeAll(async () => {
  [server, audio] = await Promise.all([startTestServer(), makeAudioFiles()]);
  client = server.client();
  silence = path.join(audio.dir, "silence.wav");
  fs.writeFileSync(silence, encodeWav(new Float32Array(16_000 * 2), 16_000));
});
afterAll(async () => {
  await server?.close();
  removeAudioFiles(audio);
});
afterEach(async () => {
  await expectNoTempFiles(server.tempDir);
});

interface CurlAnswer {
  status: number;
  contentType: string;
  body: string;
}

/** Runs the real curl in the audio directory (`@file` paths relative, as users type them). */
async function curl(...args: string[]): Promise<CurlAnswer> {
  const { stdout } = await run("curl", ["-sS", "--max-time", "60", "-w", "\n%{http_code} %{content_type}", ...args], { cwd: audio.dir, maxBuffer: 1 << 20 });
  const at = stdout.lastIndexOf("\n");
  const [status, ...type] = stdout.slice(at + 1).split(" ");
  return { status: Number(status), contentType: type.join(" "), body: stdout.slice(0, at) };
}

const transcriptions = () => `${server.url}/v1/audio/transcriptions`;
const translations = () => `${server.url}/v1/audio/translations`;

/** The `error` of an OpenAI error body. */
function errorOf(answer: CurlAnswer): { message: string; type: string; param: string | null; code: string | null } {
  expect(answer.status, answer.body).toBe(400);
  return (JSON.parse(answer.body) as { error: { message: string; type: string; param: string | null; code: string | null } }).error;
}

/** The server-sent events of a streamed answer (`data: {...}` frames). */
function sseEvents(body: string): Array<{ type: string; text?: string; delta?: string }> {
  return body
    .split("\n")
    .filter((line) => line.startsWith("data: "))
    .map((line) => JSON.parse(line.slice("data: ".length)) as { type: string; text?: string; delta?: string });
}

/** What the SDK's rejected promise holds: a BadRequestError (status 400, param and code read from the body). */
async function refused(request: Promise<unknown>): Promise<BadRequestError> {
  const error = await request.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BadRequestError);
  return error as BadRequestError;
}

const fileOf = (file: string) => toFile(fs.readFileSync(file), path.basename(file));

describe("booleans in any letter case (stream)", () => {
  it("stream=True (as the guide's curl writes it) and TRUE stream server-sent events; False and FALSE answer one body", async () => {
    const speech = await curl("--form", "file=@speech.mp3", "--form", "model=gpt-4o-mini-transcribe", "--form", "stream=True", transcriptions());
    expect(speech.status, speech.body).toBe(200);
    expect(speech.contentType).toMatch(/^text\/event-stream/);
    const events = sseEvents(speech.body);
    const done = events.at(-1)!;
    expect(done.type).toBe("transcript.text.done");
    expect(done.text!.length).toBeGreaterThan(0);
    expect(events.slice(0, -1).every((event) => event.type === "transcript.text.delta")).toBe(true);
    expect(events.slice(0, -1).map((event) => event.delta).join("").trim()).toBe(done.text!.trim());

    const upper = await curl("-F", "file=@silence.wav", "-F", "model=whisper-1", "-F", "stream=TRUE", transcriptions());
    expect(upper.contentType).toMatch(/^text\/event-stream/);
    expect(sseEvents(upper.body).at(-1)).toMatchObject({ type: "transcript.text.done", text: "" });
    for (const value of ["False", "FALSE", "false"]) {
      const plain = await curl("-F", "file=@silence.wav", "-F", "model=whisper-1", "-F", `stream=${value}`, transcriptions());
      expect(plain.status, plain.body).toBe(200);
      expect(plain.contentType).toMatch(/^application\/json/);
      expect(JSON.parse(plain.body)).toMatchObject({ text: "" });
    }
  });

  it("a Python-style form ('True', as requests or httpx writes a bool) gets its stream", async () => {
    // The official Node SDK only ever sends `true` (and openai 7 reads a response as a stream only for `stream: true`),
    // so the Python spelling goes as a plain multipart POST, as a Python client sends it.
    const form = new FormData();
    form.append("file", new Blob([fs.readFileSync(silence)]), "silence.wav");
    form.append("model", "whisper-1");
    form.append("stream", "True");
    const response = await fetch(transcriptions(), { method: "POST", body: form });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = (await response.text()).split("\n").filter((line) => line.startsWith("data: ") && line !== "data: [DONE]").map((line) => JSON.parse(line.slice(6)) as { type: string });
    expect(events.at(-1)?.type).toBe("transcript.text.done");
  });

  it("anything else ('1', 'yes', 'on') is a 400 naming stream, from curl and from the SDK", async () => {
    for (const value of ["1", "yes", "on"]) {
      const error = errorOf(await curl("-F", "file=@silence.wav", "-F", "model=whisper-1", "-F", `stream=${value}`, transcriptions()));
      expect(error).toMatchObject({ type: "invalid_request_error", param: "stream", code: "invalid_value" });
      expect(error.message).toContain(`'${value}'`);
    }
    const sdk = await refused(client.audio.transcriptions.create({ file: await fileOf(silence), model: "whisper-1", stream: "1" as unknown as true }));
    expect(sdk).toMatchObject({ status: 400, param: "stream", code: "invalid_value" });
  });

  it("translations have no stream field (as at OpenAI): unknown_parameter, from curl and from the SDK", async () => {
    const error = errorOf(await curl("-F", "file=@silence.wav", "-F", "model=whisper-1", "-F", "stream=True", translations()));
    expect(error).toMatchObject({ param: "stream", code: "unknown_parameter" });
    const sdk = await refused(client.audio.translations.create({ file: await fileOf(silence), model: "whisper-1", stream: true } as never));
    expect(sdk).toMatchObject({ param: "stream", code: "unknown_parameter" });
  });

  it("batch jobs read it the same way: stream=True is the jobs' own refusal, stream=False a job", async () => {
    const streamed = errorOf(await curl("-F", "file=@silence.wav", "-F", "model=whisper-1", "-F", "stream=True", `${server.url}/v1/audio/jobs`));
    expect(streamed).toMatchObject({ param: "stream", code: "invalid_value", message: expect.stringContaining("batch jobs") });
    const job = await curl("-F", "file=@silence.wav", "-F", "model=whisper-1", "-F", "stream=False", `${server.url}/v1/audio/jobs`);
    expect(job.status, job.body).toBe(202);
    expect(JSON.parse(job.body)).toMatchObject({ object: "audio.job" });
  });
});

describe("timestamp_granularities[]", () => {
  it("segment (OpenAI's default) with json, text, srt and vtt, under any alias: the answer is the one without it", async () => {
    const cases = [
      ["json", "gpt-4o-transcribe"],
      ["text", "whisper-1"],
      ["srt", "gpt-transcribe"],
      ["vtt", "gpt-4o-mini-transcribe"],
    ] as const;
    for (const [format, model] of cases) {
      const withSegment = await curl("-F", "file=@speech.wav", "-F", `model=${model}`, "-F", `response_format=${format}`, "-F", "timestamp_granularities[]=segment", transcriptions());
      expect(withSegment.status, withSegment.body).toBe(200);
      const without = await client.audio.transcriptions.create({ file: await fileOf(audio.wav), model, response_format: format });
      if (format === "json") expect(JSON.parse(withSegment.body)).toEqual(without);
      else expect(withSegment.body).toBe(without);
    }
  });

  it("the SDK sending segment with json, as a widely used framework does for every model: the plain json answer", async () => {
    const result = await client.audio.transcriptions.create({
      file: await fileOf(audio.wav),
      model: "gpt-4o-transcribe",
      language: "en",
      response_format: "json",
      temperature: 0,
      timestamp_granularities: ["segment"],
    });
    expect(result).toEqual({ text: WINDOW_TEXT, usage: { type: "duration", seconds: expect.any(Number) } });
  });

  it("the framework's own form (fields after the file, in its order) with gpt-4o-transcribe: accepted", async () => {
    const form = new FormData();
    form.append("model", "gpt-4o-transcribe");
    form.append("file", new File([fs.readFileSync(silence)], "audio", { type: "audio/wav" }), "audio.wav");
    form.append("language", "en");
    form.append("response_format", "json");
    form.append("temperature", "0");
    form.append("timestamp_granularities[]", "segment");
    const response = await fetch(transcriptions(), { method: "POST", body: form });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ text: "" });
  });

  it("word still needs verbose_json (OpenAI refuses it with json): a 400 naming timestamp_granularities", async () => {
    for (const format of ["json", "text", "srt", "vtt"]) {
      const error = errorOf(await curl("-F", "file=@silence.wav", "-F", "model=whisper-1", "-F", `response_format=${format}`, "-F", "timestamp_granularities[]=word", transcriptions()));
      expect(error).toMatchObject({ type: "invalid_request_error", param: "timestamp_granularities", code: "invalid_value" });
    }
    const both = errorOf(
      await curl("-F", "file=@silence.wav", "-F", "model=whisper-1", "-F", "timestamp_granularities[]=segment", "-F", "timestamp_granularities[]=word", transcriptions()),
    );
    expect(both.param).toBe("timestamp_granularities");
    const sdk = await refused(client.audio.transcriptions.create({ file: await fileOf(silence), model: "whisper-1", response_format: "json", timestamp_granularities: ["word"] }));
    expect(sdk).toMatchObject({ param: "timestamp_granularities", code: "invalid_value" });
  });

  it("diarized_json takes neither granularity (OpenAI: not available with its diarizing model)", async () => {
    // Fields first, so the form is read before any of the (mono) audio.
    const error = errorOf(await curl("-F", "model=gpt-4o-transcribe-diarize", "-F", "response_format=diarized_json", "-F", "timestamp_granularities[]=segment", "-F", "file=@silence.wav", transcriptions()));
    expect(error.param).toBe("timestamp_granularities");
  });

  it("translations have no timestamp_granularities (as at OpenAI): unknown_parameter", async () => {
    const error = errorOf(await curl("-F", "file=@silence.wav", "-F", "model=whisper-1", "-F", "timestamp_granularities[]=segment", translations()));
    expect(error).toMatchObject({ param: "timestamp_granularities", code: "unknown_parameter" });
    const sdk = await refused(client.audio.translations.create({ file: await fileOf(silence), model: "whisper-1", timestamp_granularities: ["segment"] } as never));
    expect(sdk).toMatchObject({ param: "timestamp_granularities", code: "unknown_parameter" });
  });
});

/** A keyword OpenAI refuses, for each character it refuses. */
const BAD_KEYWORDS = ["a<b", "<b>", "x\ry", "first line\nsecond"];

describe("what OpenAI refuses for gpt-transcribe, refused for every model", () => {
  it("language beside languages[]: a 400 naming languages, from curl and from the SDK, under any alias", async () => {
    for (const model of ["gpt-transcribe", "whisper-1"]) {
      const error = errorOf(await curl("-F", "file=@silence.wav", "-F", `model=${model}`, "-F", "language=en", "-F", "languages[]=en", "-F", "languages[]=de", transcriptions()));
      expect(error).toMatchObject({ type: "invalid_request_error", param: "languages", code: "invalid_value" });
    }
    const sdk = await refused(client.audio.transcriptions.create({ file: await fileOf(silence), model: "gpt-transcribe", language: "en", languages: ["de"] } as never));
    expect(sdk).toMatchObject({ param: "languages", code: "invalid_value" });
    // Each alone is fine.
    const alone = await client.audio.transcriptions.create({ file: await fileOf(silence), model: "gpt-transcribe", languages: ["de"] } as never);
    expect(alone).toMatchObject({ text: "" });
  });

  it("one keyword holding '<', '>', CR or LF refuses the whole request, naming keywords", async () => {
    for (const keyword of BAD_KEYWORDS) {
      const error = errorOf(await curl("-F", "file=@silence.wav", "-F", "model=gpt-transcribe", "--form-string", "keywords[]=Earshot", "--form-string", `keywords[]=${keyword}`, transcriptions()));
      expect(error).toMatchObject({ type: "invalid_request_error", param: "keywords", code: "invalid_value", message: expect.stringContaining("Entry 1") });
    }
    // A line break at the end is refused too, though trimming would have dropped it.
    const trailing = errorOf(await curl("-F", "file=@silence.wav", "-F", "model=whisper-1", "--form-string", "keywords[]=Earshot\n", transcriptions()));
    expect(trailing.param).toBe("keywords");
    const sdk = await refused(client.audio.transcriptions.create({ file: await fileOf(silence), model: "whisper-1", keywords: ["Earshot", "Silero <VAD>"] } as never));
    expect(sdk).toMatchObject({ param: "keywords", code: "invalid_value" });
  });

  it("translations have neither field (as at OpenAI): unknown_parameter", async () => {
    const languages = errorOf(await curl("-F", "file=@silence.wav", "-F", "model=whisper-1", "-F", "languages[]=de", translations()));
    expect(languages).toMatchObject({ param: "languages", code: "unknown_parameter" });
    const sdk = await refused(client.audio.translations.create({ file: await fileOf(silence), model: "whisper-1", keywords: ["a<b"] } as never));
    expect(sdk).toMatchObject({ param: "keywords", code: "unknown_parameter" });
  });

  it("batch jobs refuse them the same way", async () => {
    const jobs = `${server.url}/v1/audio/jobs`;
    const both = errorOf(await curl("-F", "file=@silence.wav", "-F", "model=gpt-transcribe", "-F", "language=en", "-F", "languages[]=de", jobs));
    expect(both.param).toBe("languages");
    const keyword = errorOf(await curl("-F", "file=@silence.wav", "-F", "model=gpt-transcribe", "--form-string", "keywords[]=a>b", jobs));
    expect(keyword.param).toBe("keywords");
  });
});

describe("realtime session.update and client secrets: the same refusals", () => {
  const TRANSCRIPTION = "session.audio.input.transcription";

  function update(socket: RealtimeClient, transcription: Record<string, unknown>, eventId?: string): void {
    socket.send({ type: "session.update", ...(eventId ? { event_id: eventId } : {}), session: { type: "transcription", audio: { input: { transcription } } } });
  }

  function errorFor(socket: RealtimeClient, eventId: string): Promise<ServerEvent> {
    return socket.until(`error for ${eventId}`, (events) => events.find((e) => e.type === "error" && e.error.event_id === eventId));
  }

  it("language beside languages, in one update or beside the language in effect: an error event naming languages", async () => {
    const socket = await RealtimeClient.open(realtimeUrl(server.url));
    update(socket, { model: "gpt-transcribe", language: "en", languages: ["de"] }, "evt_both");
    expect((await errorFor(socket, "evt_both")).error).toMatchObject({ type: "invalid_request_error", code: "invalid_value", param: `${TRANSCRIPTION}.languages` });

    update(socket, { language: "en" });
    expect((await socket.next("session.updated")).session.audio.input.transcription).toMatchObject({ language: "en" });
    update(socket, { languages: ["de", "fr"] }, "evt_after");
    expect((await errorFor(socket, "evt_after")).error).toMatchObject({ param: `${TRANSCRIPTION}.languages` });
    // Clearing language in the same update is the way over.
    update(socket, { language: null, languages: ["de", "fr"] });
    expect((await socket.next("session.updated", 1)).session.audio.input.transcription).toMatchObject({ language: null, languages: ["de", "fr"] });

    socket.send({ type: "transcription_session.update", event_id: "evt_beta", session: { input_audio_transcription: { language: "en" } } });
    expect((await errorFor(socket, "evt_beta")).error).toMatchObject({ param: "session.input_audio_transcription.languages" });
    expect(socket.all("session.updated")).toHaveLength(2);
    await socket.close();
  });

  it("one keyword holding '<', '>', CR or LF refuses the whole update, its other fields too", async () => {
    const socket = await RealtimeClient.open(realtimeUrl(server.url));
    update(socket, { prompt: "Before." });
    await socket.next("session.updated");
    for (const [index, keyword] of BAD_KEYWORDS.entries()) {
      update(socket, { prompt: "After.", keywords: ["Earshot", keyword] }, `evt_kw${index}`);
      expect((await errorFor(socket, `evt_kw${index}`)).error).toMatchObject({ type: "invalid_request_error", code: "invalid_value", param: `${TRANSCRIPTION}.keywords` });
    }
    socket.send({ type: "transcription_session.update", event_id: "evt_beta", session: { input_audio_transcription: { keywords: ["a>b"] } } });
    expect((await errorFor(socket, "evt_beta")).error).toMatchObject({ param: "session.input_audio_transcription.keywords" });
    // Nothing of the refused updates was applied.
    update(socket, { keywords: ["Earshot"] });
    expect((await socket.next("session.updated", 1)).session.audio.input.transcription).toMatchObject({ prompt: "Before.", keywords: ["Earshot"] });
    await socket.close();
  });

  it("client secrets are refused the same way: GA through the SDK, beta as plain JSON", async () => {
    const both = await refused(
      client.realtime.clientSecrets.create({ session: { type: "transcription", audio: { input: { transcription: { model: "whisper-1", language: "en", languages: ["de"] } } } } } as never),
    );
    expect(both).toMatchObject({ status: 400, param: `${TRANSCRIPTION}.languages`, code: "invalid_value" });
    const keyword = await refused(
      client.realtime.clientSecrets.create({ session: { type: "transcription", audio: { input: { transcription: { keywords: ["line\nbreak"] } } } } } as never),
    );
    expect(keyword).toMatchObject({ status: 400, param: `${TRANSCRIPTION}.keywords` });

    const beta = await fetch(`${server.url}/v1/realtime/transcription_sessions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ input_audio_transcription: { model: "whisper-1", keywords: ["<b>"] } }),
    });
    expect(beta.status).toBe(400);
    expect(((await beta.json()) as { error: unknown }).error).toMatchObject({ param: "input_audio_transcription.keywords", code: "invalid_value" });
  });
});

describe("OpenAI's speech-to-text guide: its curl examples as written (but for the URL)", () => {
  /** The guide's curl preamble: `--request POST --url ... --header Authorization --header 'Content-Type: multipart/form-data'`. */
  const guide = (url: string, ...form: string[]) =>
    curl("--request", "POST", "--url", url, "--header", "Authorization: Bearer sk-guide-example", "--header", "Content-Type: multipart/form-data", ...form);

  it("transcribe a file with gpt-transcribe", async () => {
    const answer = await guide(transcriptions(), "--form", "file=@speech.mp3", "--form", "model=gpt-transcribe");
    expect(answer.status, answer.body).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ text: expect.any(String), usage: { type: "duration" } });
    expect((JSON.parse(answer.body) as { text: string }).text.length).toBeGreaterThan(0);
  });

  it("stream the transcription: --form stream=True", async () => {
    const answer = await guide(transcriptions(), "--form", "file=@speech.mp3", "--form", "model=gpt-transcribe", "--form", "stream=True");
    expect(answer.status, answer.body).toBe(200);
    expect(answer.contentType).toMatch(/^text\/event-stream/);
    expect(sseEvents(answer.body).at(-1)).toMatchObject({ type: "transcript.text.done", text: expect.any(String) });
  });

  it("add context: prompt, keywords[] and languages[]", async () => {
    const answer = await guide(
      transcriptions(),
      "--form", "file=@speech.mp3",
      "--form", "model=gpt-transcribe",
      "--form", "prompt=A count from one to six.",
      "--form", "keywords[]=Earshot",
      "--form", "languages[]=en",
    );
    expect(answer.status, answer.body).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ text: expect.any(String), languages: [{ code: "en" }] });
  });

  it("word timestamps: whisper-1, verbose_json, timestamp_granularities[]=word", async () => {
    const answer = await curl(
      transcriptions(),
      "-H", "Authorization: Bearer sk-guide-example",
      "-H", "Content-Type: multipart/form-data",
      "-F", "file=@speech.mp3",
      "-F", "timestamp_granularities[]=word",
      "-F", "model=whisper-1",
      "-F", "response_format=verbose_json",
    );
    expect(answer.status, answer.body).toBe(200);
    const result = JSON.parse(answer.body) as { words: Array<{ start: number; end: number }> };
    expect(result.words.length).toBeGreaterThan(0);
    for (const word of result.words) expect(word.end).toBeGreaterThanOrEqual(word.start);
  });

  it("translate a recording into English: whisper-1 on /v1/audio/translations", async () => {
    const answer = await guide(translations(), "--form", "file=@speech.mp3", "--form", "model=whisper-1");
    expect(answer.status, answer.body).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ text: expect.any(String) });
  });
});
