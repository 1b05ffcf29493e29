// Who may open a realtime socket: API keys (header or browser subprotocol), ephemeral client secrets minted over
// HTTP (GA client_secrets and beta transcription_sessions, through the official SDK), refusals before the upgrade.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { RealtimeClient, realtimeUrl, refusal } from "../support/realtime.js";
import { sleep, startTestServer, type TestServer } from "../support/server.js";

const KEY = "sk-earshot-test-key";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ apiKeys: KEY });
});
afterAll(async () => {
  await server?.close();
});

describe("realtime authentication", () => {
  it("accepts an API key as a Bearer header or as the browser subprotocol, choosing 'realtime'", async () => {
    const byHeader = await RealtimeClient.connect(realtimeUrl(server.url), { headers: { Authorization: `Bearer ${KEY}` } });
    await byHeader.next("session.created");
    await byHeader.close();

    const byProtocol = await RealtimeClient.connect(realtimeUrl(server.url), { protocols: ["realtime", `openai-insecure-api-key.${KEY}`] });
    expect(byProtocol.socket.protocol).toBe("realtime");
    await byProtocol.next("session.created");
    await byProtocol.close();
  });

  it("refuses a missing or wrong key before the upgrade, in OpenAI's error shape", async () => {
    const missing = await refusal(realtimeUrl(server.url));
    expect(missing.status).toBe(401);
    expect(missing.body.error).toMatchObject({ type: "authentication_error", code: "invalid_api_key" });
    expect(missing.body.error.message).toMatch(/openai-insecure-api-key/);

    const wrong = await refusal(realtimeUrl(server.url), { protocols: ["realtime", "openai-insecure-api-key.sk-wrong"] });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.message).toMatch(/Incorrect API key/);
  });

  it("refuses other paths, other intents and origins that are not allowed", async () => {
    const headers = { Authorization: `Bearer ${KEY}` };
    expect((await refusal(`${server.url.replace("http", "ws")}/v1/realtimex`, { headers })).status).toBe(404);
    const intent = await refusal(realtimeUrl(server.url, "intent=conversation"), { headers });
    expect(intent.status).toBe(400);
    expect(intent.body.error.param).toBe("intent");
    const origin = await refusal(realtimeUrl(server.url), { headers, origin: "https://evil.example" });
    expect(origin.status).toBe(403);
    // Same origin (the page served by Earshot itself) is fine.
    const sameOrigin = await RealtimeClient.connect(realtimeUrl(server.url), { headers, origin: server.url });
    await sameOrigin.next("session.created");
    await sameOrigin.close();
  });

  it("mints GA client secrets that open a socket with the minted session, and nothing else", async () => {
    const openai = server.client(KEY);
    const secret = await openai.realtime.clientSecrets.create({
      expires_after: { anchor: "created_at", seconds: 120 },
      session: {
        type: "transcription",
        audio: { input: { format: { type: "audio/pcmu" }, transcription: { model: "whisper-1", language: "en" }, turn_detection: null } },
      },
    });
    expect(secret.value).toMatch(/^ek_/);
    const now = Date.now() / 1000;
    expect(secret.expires_at).toBeGreaterThan(now + 110);
    expect(secret.expires_at).toBeLessThan(now + 130);
    expect(secret.session).toMatchObject({ type: "transcription", id: expect.stringMatching(/^sess_/) });

    const client = await RealtimeClient.connect(realtimeUrl(server.url), { protocols: ["realtime", `openai-insecure-api-key.${secret.value}`] });
    const created = await client.next("session.created");
    expect(created.session.id).toBe(secret.session.id);
    expect(created.session.audio.input).toMatchObject({
      format: { type: "audio/pcmu" },
      transcription: { model: "whisper-1", language: "en" },
      turn_detection: null,
    });
    await client.close();

    // A secret is not an API key for the HTTP API, nor for minting more secrets.
    await expect(server.client(secret.value).models.list()).rejects.toMatchObject({ status: 401 });
    await expect(server.client(secret.value).realtime.clientSecrets.create({})).rejects.toMatchObject({ status: 401 });
  });

  it("needs a real API key to mint, and validates the lifetime and session", async () => {
    await expect(server.client("sk-wrong").realtime.clientSecrets.create({})).rejects.toMatchObject({ status: 401 });
    const openai = server.client(KEY);
    // Default lifetime: 600 s.
    const plain = await openai.realtime.clientSecrets.create({});
    expect(plain.expires_at - Date.now() / 1000).toBeGreaterThan(590);
    for (const seconds of [5, 7201, 1.5]) {
      const error = await openai.realtime.clientSecrets.create({ expires_after: { anchor: "created_at", seconds } }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("expires_after.seconds");
    }
    const badModel = await openai.realtime.clientSecrets
      .create({ session: { type: "transcription", audio: { input: { transcription: { model: "no-such-model" } } } } })
      .catch((e: unknown) => e);
    expect(badModel).toMatchObject({ status: 400, code: "model_not_found" });
    const conversation = await openai.realtime.clientSecrets.create({ session: { type: "realtime" } }).catch((e: unknown) => e);
    expect(conversation).toMatchObject({ status: 400, code: "unsupported_session_type", param: "session.type" });
    // A JSON body over Fastify's limit is refused as such, not as an upload over the file limit.
    const huge = await fetch(`${server.url}/v1/realtime/client_secrets`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ session: { type: "transcription", audio: { input: { transcription: { prompt: "x".repeat(2_000_000) } } } } }),
    });
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as { error: unknown }).error).toMatchObject({ type: "invalid_request_error", param: null, code: "FST_ERR_CTP_BODY_TOO_LARGE" });
  });

  it("mints beta transcription sessions whose secret opens a beta-dialect socket", async () => {
    const openai = server.client(KEY);
    const session = await openai.beta.realtime.transcriptionSessions.create({
      input_audio_format: "g711_alaw",
      input_audio_transcription: { model: "whisper-1", language: "de" },
      turn_detection: { type: "server_vad", silence_duration_ms: 700 },
    });
    expect(session.client_secret.value).toMatch(/^ek_/);
    expect(session.input_audio_format).toBe("g711_alaw");
    expect(session.turn_detection).toMatchObject({ type: "server_vad", silence_duration_ms: 700, threshold: 0.5 });

    const client = await RealtimeClient.connect(realtimeUrl(server.url), {
      protocols: ["realtime", `openai-insecure-api-key.${session.client_secret.value}`, "openai-beta.realtime-v1"],
    });
    const created = await client.next("transcription_session.created");
    expect(created.session).toMatchObject({ input_audio_format: "g711_alaw", input_audio_transcription: { language: "de" } });
    await client.close();
  });

  it("refuses a secret once it has expired", async () => {
    const secret = await server.client(KEY).realtime.clientSecrets.create({ expires_after: { anchor: "created_at", seconds: 10 } });
    const before = await RealtimeClient.connect(realtimeUrl(server.url), { protocols: ["realtime", `openai-insecure-api-key.${secret.value}`] });
    await before.next("session.created");
    await before.close();
    await sleep(Math.max(0, secret.expires_at * 1000 - Date.now()) + 300);
    const expired = await refusal(realtimeUrl(server.url), { headers: { Authorization: `Bearer ${secret.value}` } });
    expect(expired.status).toBe(401);
    expect(expired.body.error.message).toMatch(/expired/);
  }, 30_000);
});
