// The transcription fields OpenAI added in 2026, over HTTP: languages[] (detection restricted to the given
// languages; the response names the language) and keywords[] (put ahead of the prompt the decoder sees). The 2026
// model ids are in openaiSdk.test.ts ("models"), the same fields over the realtime socket in
// ../realtime/sessionFields.test.ts.
import fs from "node:fs";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { engineOptions } from "../../src/transcription/TranscriptionService.js";
import { makeAudioFiles, removeAudioFiles, startTestServer, type AudioFiles, type TestServer } from "../support/server.js";

let server: TestServer;
let audio: AudioFiles;

beforeAll(async () => {
  [server, audio] = await Promise.all([startTestServer(), makeAudioFiles()]);
});
afterAll(async () => {
  await server?.close();
  removeAudioFiles(audio);
});

/** A multipart request as the 7.x SDK encodes arrays (`key[]` repeated), for fields the installed SDK lacks. */
async function post(fields: Array<[string, string]>): Promise<Response> {
  const form = new FormData();
  for (const [name, value] of fields) form.append(name, value);
  form.append("file", new Blob([fs.readFileSync(audio.wav)]), "speech.wav");
  return fetch(`${server.url}/v1/audio/transcriptions`, { method: "POST", body: form });
}

describe("languages[]", () => {
  it("one language: that language, no detection; json names it", async () => {
    const response = await post([["model", "gpt-transcribe"], ["languages[]", "de"]]);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ text: expect.any(String), languages: [{ code: "de" }] });
    const verbose = await post([["model", "whisper-1"], ["languages[]", "French"], ["response_format", "verbose_json"]]);
    expect(((await verbose.json()) as { language: string }).language).toBe("french");
  });

  it("several languages: the most probable of them, never one outside the list", async () => {
    // The generated model's detection says English; restricted to German or Spanish it must choose one of those.
    const free = await post([["model", "whisper-1"], ["response_format", "verbose_json"]]);
    expect(((await free.json()) as { language: string }).language).toBe("english");
    const response = await post([["model", "whisper-1"], ["languages[]", "de"], ["languages[]", "es"]]);
    const body = (await response.json()) as { languages: Array<{ code: string }> };
    expect(["de", "es"]).toContain(body.languages[0]!.code);
    // Streaming: the done event names it too.
    const stream = await post([["model", "whisper-1"], ["languages[]", "de"], ["languages[]", "es"], ["stream", "true"]]);
    const done = (await stream.text()).split("\n").find((line) => line.includes("transcript.text.done"))!;
    expect(["de", "es"]).toContain((JSON.parse(done.slice("data: ".length)) as { languages: Array<{ code: string }> }).languages[0]!.code);
  });

  it("a code that is no language is a 400 naming the param", async () => {
    const response = await post([["model", "whisper-1"], ["languages[]", "xx-klingon"]]);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { param: string } }).error.param).toBe("languages");
  });
});

describe("keywords[]", () => {
  it("go into the decoder prompt ahead of the caller's prompt", () => {
    const options = engineOptions({ model: "whisper-1", task: "transcribe", keywords: ["Earshot", "whisper.cpp"], prompt: "A talk about servers." });
    expect(options.prompt).toBe("Earshot, whisper.cpp. A talk about servers.");
    expect(engineOptions({ model: "whisper-1", task: "transcribe", keywords: ["Kubernetes"] }).prompt).toBe("Kubernetes.");
  });

  it("are accepted by the API, and one too long is a 400 naming the param", async () => {
    const ok = await post([["model", "whisper-1"], ["keywords[]", "Earshot"], ["keywords[]", "Silero"], ["prompt", "Names."]]);
    expect(ok.status).toBe(200);
    const long = await post([["model", "whisper-1"], ["keywords[]", "x".repeat(101)]]);
    expect(long.status).toBe(400);
    expect(((await long.json()) as { error: { param: string } }).error.param).toBe("keywords");
  });

  it("unknown fields still get their 400", async () => {
    const response = await post([["model", "whisper-1"], ["sparkle", "yes"]]);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("unknown_parameter");
  });
});
