// EARSHOT_DRAIN_ACCEPT_SECONDS: at shutdown /ready answers 503 "draining" at once, but uploads and realtime
// sessions are still taken for that long (a load balancer notices only at its next health checks; what it sends
// meanwhile is served instead of refused with a 503 it cannot replay); then the drain refuses new work as usual.
import { toFile } from "openai";
import { afterEach, describe, expect, it } from "vitest";

import { loadServerConfig } from "../../src/config.js";
import { rawUpload } from "../support/abuse.js";
import { speechOfLength } from "../support/engineFixtures.js";
import { RealtimeClient, realtimeUrl } from "../support/realtime.js";
import { startTestServer, type TestServer, WINDOW_TEXT } from "../support/server.js";
import { encodeWav } from "../support/speech.js";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe("still taking work while the load balancer notices (drainAcceptSeconds)", () => {
  it("defaults to 0, is read from EARSHOT_DRAIN_ACCEPT_SECONDS, and is bounded", () => {
    expect(loadServerConfig({}, {}, {}).drainAcceptSeconds).toBe(0);
    expect(loadServerConfig({}, { EARSHOT_DRAIN_ACCEPT_SECONDS: "2.5" }, {}).drainAcceptSeconds).toBe(2.5);
    expect(() => loadServerConfig({ drainAcceptSeconds: "-1" }, {}, {})).toThrow(/EARSHOT_DRAIN_ACCEPT_SECONDS/);
  });

  it("/ready answers 503 draining at once; uploads and realtime sessions are still taken until the window ends, then refused", async () => {
    server = await startTestServer({ drainAcceptSeconds: "2", parallelJobs: "1" });
    const { url } = server;
    const wav = encodeWav(await speechOfLength(2), 16_000);
    const closing = server.server.close();
    const startedAt = Date.now();

    const ready = await fetch(`${url}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: "draining" });

    // Within the window: an upload is admitted (it sends its body slowly, past the window's end, which keeps the
    // drain that follows busy), and a realtime session is opened.
    const slow = rawUpload(`${url}/v1/audio/transcriptions`, { file: wav, filename: "two.wav", chunkBytes: 8 * 1024, pauseMs: 400 });
    const session = await RealtimeClient.open(realtimeUrl(url));
    let sessionClosedAt = 0;
    session.socket.once("close", () => (sessionClosedAt = Date.now()));
    expect(Date.now() - startedAt, "the window had not ended").toBeLessThan(2_000);

    // After the window: the drain refuses new uploads (503, Retry-After), closes the idle session (1001) and lets
    // the admitted upload finish.
    while (Date.now() - startedAt < 2_100) await new Promise((resolve) => setTimeout(resolve, 50));
    const refused = await server.client().audio.transcriptions.create({ file: await toFile(wav, "two.wav"), model: "whisper-1" }).catch((error: unknown) => error);
    expect(refused).toMatchObject({ status: 503, code: "server_shutting_down" });
    const served = await slow;
    expect(served.status, served.body).toBe(200);
    expect(WINDOW_TEXT.startsWith((JSON.parse(served.body) as { text: string }).text)).toBe(true);
    await closing;
    await session.until("the close", () => session.closed, 5_000).catch(() => undefined);
    expect(session.closed?.code).toBe(1001);
    expect(sessionClosedAt - startedAt).toBeGreaterThanOrEqual(2_000);
  }, 60_000);
});
