// Client secrets any replica accepts: signed with EARSHOT_SECRET_KEY, verified without server state. A secret
// minted by one server opens a realtime socket on another with the same key, and is refused (401) by a server with
// another key; altered, cut short or expired secrets are refused too. They still never open the HTTP API.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { loadServerConfig } from "../../src/config.js";
import { ClientSecretStore } from "../../src/server/realtime/clientSecrets.js";
import { defaultSessionConfig } from "../../src/api/realtimeSession.js";
import { RealtimeClient, realtimeUrl, refusal } from "../support/realtime.js";
import { startTestServer, type TestServer } from "../support/server.js";

const KEY = "sk-earshot-test-key";
const SHARED = "shared-secret-key-of-at-least-32-bytes!";
const OTHER = "another-secret-key-of-at-least-32-bytes";

let a: TestServer;
let b: TestServer;
let c: TestServer;
beforeAll(async () => {
  [a, b, c] = await Promise.all([
    startTestServer({ apiKeys: KEY, secretKey: SHARED }),
    startTestServer({ apiKeys: KEY, secretKey: SHARED }),
    startTestServer({ apiKeys: KEY, secretKey: OTHER }),
  ]);
}, 60_000);
afterAll(async () => {
  await Promise.all([a?.close(), b?.close(), c?.close()]);
});

/** The refusal of a socket opened with `secret` as the browser subprotocol: its status and error message. */
async function refusedSecret(url: string, secret: string): Promise<{ status: number; message: string }> {
  const { status, body } = await refusal(url, { protocols: ["realtime", `openai-insecure-api-key.${secret}`] });
  return { status, message: (body as { error: { message: string } }).error.message };
}

describe("client secrets shared by replicas", () => {
  it("a secret minted by one server opens a socket on another with the same key, with the minted session", async () => {
    const secret = await a.client(KEY).realtime.clientSecrets.create({
      session: { type: "transcription", audio: { input: { format: { type: "audio/pcmu" }, transcription: { model: "whisper-1", language: "fr", prompt: "Bonjour" }, turn_detection: null } } },
    });
    expect(secret.value).toMatch(/^ek_[\w-]+\.[\w-]{43}$/);
    for (const server of [a, b]) {
      const client = await RealtimeClient.connect(realtimeUrl(server.url), { headers: { Authorization: `Bearer ${secret.value}` } });
      const created = await client.next("session.created");
      expect(created.session.id).toBe(secret.session.id);
      expect(created.session.expires_at).toBe(secret.expires_at);
      expect(created.session.audio.input).toMatchObject({
        format: { type: "audio/pcmu" },
        transcription: { model: "whisper-1", language: "fr", prompt: "Bonjour" },
        turn_detection: null,
      });
      await client.close();
    }
    // Another key: 401.
    const refused = await refusedSecret(realtimeUrl(c.url), secret.value);
    expect(refused.status).toBe(401);
    expect(refused.message).toMatch(/Invalid client secret/);
    // Still not an API key, on any replica.
    await expect(b.client(secret.value).models.list()).rejects.toMatchObject({ status: 401 });
    await expect(b.client(secret.value).realtime.clientSecrets.create({})).rejects.toMatchObject({ status: 401 });
  });

  it("refuses a secret altered or cut short (401)", async () => {
    const { value } = await a.client(KEY).realtime.clientSecrets.create({});
    const [body, signature] = value.split(".") as [string, string];
    const flip = (text: string, at: number) => text.slice(0, at) + (text[at] === "A" ? "B" : "A") + text.slice(at + 1);
    for (const bad of [value.slice(0, -2), body, value.slice(0, 20), `${flip(body, 12)}.${signature}`, `${body}.${flip(signature, 0)}`, `${body}.${signature}${signature}`]) {
      const refused = await refusedSecret(realtimeUrl(b.url), bad);
      expect(refused.status, bad).toBe(401);
    }
  });

  it("refuses an expired secret (401), signed with the right key", async () => {
    const past = new ClientSecretStore({ key: SHARED, now: () => Date.now() / 1000 - 3600 });
    const expired = past.mint(defaultSessionConfig("whisper-1"), "sess_old", 600, "open");
    const refused = await refusedSecret(realtimeUrl(b.url), expired.value);
    expect(refused.status).toBe(401);
    expect(refused.message).toMatch(/expired/);
    // The same store's fresh secret is accepted: the refusal was the expiry.
    const fresh = new ClientSecretStore({ key: SHARED }).mint(defaultSessionConfig("whisper-1"), "sess_new", 600, "open");
    const client = await RealtimeClient.connect(realtimeUrl(b.url), { headers: { Authorization: `Bearer ${fresh.value}` } });
    expect((await client.next("session.created")).session.id).toBe("sess_new");
    await client.close();
  });

  it("refuses a key under 32 bytes at startup, and keeps the key out of the message", () => {
    expect(() => loadServerConfig({ secretKey: "too-short-key" }, {}, {})).toThrow(/secretKey.*EARSHOT_SECRET_KEY.*32 bytes/);
    expect(() => loadServerConfig({ secretKey: "too-short-key" }, {}, {})).not.toThrow(/too-short-key/);
    expect(loadServerConfig({}, { EARSHOT_SECRET_KEY: SHARED }, {}).secretKey).toBe(SHARED);
  });
});
