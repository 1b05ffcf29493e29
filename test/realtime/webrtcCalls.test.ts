// POST /v1/realtime/calls over plain HTTP against the real server: what it answers (201, the SDP answer, Location),
// what it refuses and how (OpenAI's error shape naming `sdp`, the codec, the part over its bound; 401 like every
// route), the admission it shares with sockets (the session cap, per-key and per-secret shares), hangup, and a call
// whose media never arrives: closed after the session idle timeout, its place given back; and, from a WebRTC client in
// Node, a track sent faster than the speed limit: dropped with one error event, taken again once within it. (A
// browser's media: webrtc.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { RealtimeClient } from "../support/realtime.js";
import { startTestServer, type TestServer, waitFor } from "../support/server.js";
import { CHROMIUM_OFFER, freeUdpRange, hangup, offerWithCodecs, offerWithoutAudio, openNodeCall, postCall, udpPortFree } from "../support/webrtc.js";

const ALICE = "sk-alice-0123456789abcdef";
const BOB = "sk-bob-0123456789abcdef";
let server: TestServer;
let ports: { first: number; last: number; setting: string };

beforeAll(async () => {
  ports = await freeUdpRange(6);
  server = await startTestServer({
    apiKeys: `${ALICE},${BOB}`,
    webrtcAnnounceAddresses: "127.0.0.1",
    webrtcUdpPorts: ports.setting,
    realtimeMaxSessions: "3",
    realtimeMaxSessionsPerKey: "2",
    realtimeMaxSocketsPerSecret: "1",
    // A call whose media never arrives is idle: closed after this (the connect deadline is longer, so the idle timeout is what ends it).
    realtimeIdleTimeoutSeconds: "2",
    webrtcConnectTimeoutSeconds: "60",
  });
});

afterAll(async () => {
  await server?.close();
});

const sessionsOpen = () => server.server.app.realtime.stats().sessions;
async function sessionsGauge(): Promise<number> {
  const metrics = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${ALICE}` } })).text();
  return Number(/^earshot_realtime_sessions_open (\d+)$/m.exec(metrics)?.[1]);
}
/** Every session closed, and every call's UDP port given back. */
async function noSessionsLeft(): Promise<void> {
  await waitFor("every realtime session closed", async () => sessionsOpen() === 0, 10_000);
  const range = Array.from({ length: ports.last - ports.first + 1 }, (_, i) => ports.first + i);
  await waitFor("every call's UDP port free", async () => (await Promise.all(range.map(udpPortFree))).every(Boolean), 5_000);
}

async function mintSecret(key: string, session: unknown = { type: "transcription" }): Promise<string> {
  const response = await fetch(`${server.url}/v1/realtime/client_secrets`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ session }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { value: string }).value;
}

function callId(location: string | null): string {
  expect(location).toMatch(/^\/v1\/realtime\/calls\/rtc_[\w]+$/);
  return location!.split("/").at(-1)!;
}

describe("answering an offer", () => {
  it("answers a raw application/sdp offer with a client secret: 201, the SDP answer, the call in Location", async () => {
    const secret = await mintSecret(ALICE);
    const answer = await postCall(server.url, CHROMIUM_OFFER, { token: secret });
    expect(answer.status).toBe(201);
    expect(answer.headers.get("content-type")).toMatch(/^application\/sdp/);
    const id = callId(answer.headers.get("location"));
    // An answer to the offer: Opus only, the data channel, and the announced address as the one candidate.
    expect(answer.text).toMatch(/^v=0\r\n/);
    expect(answer.text).toMatch(/^m=audio \d+ UDP\/TLS\/RTP\/SAVPF 111\r$/m);
    expect(answer.text).toMatch(/^a=rtpmap:111 opus\/48000\/2\r$/m);
    expect(answer.text).not.toMatch(/PCMU|G722/);
    expect(answer.text).toMatch(/^m=application \d+ UDP\/DTLS\/SCTP webrtc-datachannel\r$/m);
    const candidates = answer.text.match(/^a=candidate:.*$/gm) ?? [];
    expect(candidates.length).toBeGreaterThan(0);
    for (const candidate of candidates) {
      const [, port] = / udp \d+ 127\.0\.0\.1 (\d+) typ host/.exec(candidate) ?? [];
      expect(Number(port)).toBeGreaterThanOrEqual(ports.first);
      expect(Number(port)).toBeLessThanOrEqual(ports.last);
      expect(await udpPortFree(Number(port))).toBe(false);
    }
    expect(sessionsOpen()).toBe(1);
    // Another key may not hang it up (404, as for no call at all); its own may.
    expect(await hangup(server.url, id, BOB)).toBe(404);
    expect(await hangup(server.url, "rtc_nosuchcall", ALICE)).toBe(404);
    expect(await hangup(server.url, id, secret)).toBe(200);
    await noSessionsLeft();
    expect(await hangup(server.url, id, secret)).toBe(404);
  });

  it("answers the multipart form (sdp + session) with an API key, applying the session", async () => {
    const form = new FormData();
    form.set("sdp", CHROMIUM_OFFER);
    form.set("session", JSON.stringify({ type: "transcription", audio: { input: { transcription: { language: "de" }, turn_detection: null } } }));
    const answer = await postCall(server.url, form, { token: ALICE });
    expect(answer.status).toBe(201);
    const id = callId(answer.headers.get("location"));
    // The minting key may hang up the calls of its own.
    expect(await hangup(server.url, id, ALICE)).toBe(200);
    await noSessionsLeft();
  });

  it("closes a call whose media never arrives after the session idle timeout, and frees its place", async () => {
    const started = Date.now();
    const answer = await postCall(server.url, CHROMIUM_OFFER, { token: ALICE });
    expect(answer.status).toBe(201);
    expect(sessionsOpen()).toBe(1);
    // The metrics gauge counts the call as a session.
    expect(await sessionsGauge()).toBe(1);
    await noSessionsLeft();
    const closedAfter = Date.now() - started;
    expect(closedAfter).toBeGreaterThanOrEqual(1900);
    expect(closedAfter).toBeLessThan(6000);
    expect(await sessionsGauge()).toBe(0);
  });
});

describe("bad input", () => {
  it("refuses what is not an offer with Opus audio and a data channel, naming sdp or the codec", async () => {
    const cases: Array<{ body: string; code: string; message: RegExp }> = [
      { body: "hello", code: "invalid_offer", message: /v=0/ },
      { body: "v=0\r\nthis is not sdp\r\n", code: "invalid_offer", message: /not an SDP line/ },
      { body: offerWithoutAudio(), code: "invalid_offer", message: /no audio m-line/ },
      { body: CHROMIUM_OFFER.replace("a=sendrecv", "a=recvonly"), code: "invalid_offer", message: /does not send/ },
      {
        body: CHROMIUM_OFFER.split("m=application")[0]!.replace("a=group:BUNDLE 0 1", "a=group:BUNDLE 0"),
        code: "invalid_offer",
        message: /no data channel/,
      },
      { body: CHROMIUM_OFFER.replaceAll(/^a=fingerprint:.*\r\n/gm, ""), code: "invalid_offer", message: /fingerprint/ },
      {
        body: offerWithCodecs([
          { payloadType: 9, rtpmap: "G722/8000" },
          { payloadType: 0, rtpmap: "PCMU/8000" },
        ]),
        code: "unsupported_codec",
        message: /G722, PCMU.*Opus/,
      },
    ];
    for (const { body, code, message } of cases) {
      const answer = await postCall(server.url, body, { token: ALICE });
      expect(answer.status, code).toBe(400);
      expect(answer.error).toMatchObject({ type: "invalid_request_error", param: "sdp", code });
      expect(answer.error?.message).toMatch(message);
    }
    const empty = await postCall(server.url, "", { token: ALICE });
    expect(empty.status).toBe(400);
    expect(empty.error).toMatchObject({ param: "sdp", code: "missing_required_parameter" });
    expect(sessionsOpen()).toBe(0);
  });

  it("refuses an offer over its bound with 413, a JSON body with 400, a bad form session naming its param", async () => {
    const large = await postCall(server.url, CHROMIUM_OFFER + `a=x:${"y".repeat(70 * 1024)}\r\n`, { token: ALICE });
    expect(large.status).toBe(413);
    expect(large.error).toMatchObject({ param: "sdp", code: "request_too_large" });

    const json = await postCall(server.url, JSON.stringify({ sdp: CHROMIUM_OFFER }), { token: ALICE, contentType: "application/json" });
    expect(json.status).toBe(400);
    expect(json.error).toMatchObject({ param: "sdp", code: "invalid_content_type" });

    const badSession = new FormData();
    badSession.set("sdp", CHROMIUM_OFFER);
    badSession.set("session", JSON.stringify({ type: "transcription", audio: { input: { turn_detection: { type: "server_vad", threshold: 7 } } } }));
    const refused = await postCall(server.url, badSession, { token: ALICE });
    expect(refused.status).toBe(400);
    expect(refused.error?.param).toBe("session.audio.input.turn_detection.threshold");

    const notJson = new FormData();
    notJson.set("sdp", CHROMIUM_OFFER);
    notJson.set("session", "{nope");
    expect((await postCall(server.url, notJson, { token: ALICE })).error).toMatchObject({ param: "session", code: "invalid_json" });

    const noOffer = new FormData();
    noOffer.set("session", JSON.stringify({ type: "transcription" }));
    expect((await postCall(server.url, noOffer, { token: ALICE })).error).toMatchObject({ param: "sdp", code: "missing_required_parameter" });
    expect(sessionsOpen()).toBe(0);
  });

  it("refuses a missing or wrong key and a bad client secret with 401, before reading the offer", async () => {
    for (const token of [undefined, "sk-wrong", "ek_forged.c2lnbmF0dXJl"]) {
      const answer = await postCall(server.url, CHROMIUM_OFFER, token === undefined ? {} : { token });
      expect(answer.status, String(token)).toBe(401);
      expect(answer.error).toMatchObject({ type: "authentication_error", code: "invalid_api_key" });
    }
    expect(await hangup(server.url, "rtc_x")).toBe(401);
    expect(sessionsOpen()).toBe(0);
  });
});

describe("admission shared with sockets", () => {
  it("counts calls and sockets against one cap, a key's share and a secret's share", async () => {
    const secret = await mintSecret(BOB);
    const first = await postCall(server.url, CHROMIUM_OFFER, { token: secret });
    expect(first.status).toBe(201);
    // The secret's share (1) is taken by its call: its socket is refused, and so is a second call.
    const again = await postCall(server.url, CHROMIUM_OFFER, { token: secret });
    expect(again.status).toBe(429);
    await expect(RealtimeClient.connect(`${server.url.replace("http", "ws")}/v1/realtime?intent=transcription`, { headers: { authorization: `Bearer ${secret}` } })).rejects.toMatchObject({ status: 429 });
    // Bob's key share (2): the secret's call and one socket.
    const socket = await RealtimeClient.open(`${server.url.replace("http", "ws")}/v1/realtime?intent=transcription`, { headers: { authorization: `Bearer ${BOB}` } });
    const bobAgain = await postCall(server.url, CHROMIUM_OFFER, { token: BOB });
    expect(bobAgain.status).toBe(429);
    expect(bobAgain.error).toMatchObject({ type: "rate_limit_error", code: "rate_limit_exceeded" });
    // The server's cap (3): Alice's call fills it; the next call and the next socket are refused.
    const alice = await postCall(server.url, CHROMIUM_OFFER, { token: ALICE });
    expect(alice.status).toBe(201);
    expect(server.server.app.realtime.stats().sessions).toBe(3);
    const full = await postCall(server.url, CHROMIUM_OFFER, { token: ALICE });
    expect(full.status).toBe(429);
    expect(full.error?.message).toMatch(/Too many realtime sessions/);
    await expect(RealtimeClient.connect(`${server.url.replace("http", "ws")}/v1/realtime?intent=transcription`, { headers: { authorization: `Bearer ${ALICE}` } })).rejects.toMatchObject({ status: 429 });

    socket.socket.close();
    expect(await hangup(server.url, callId(first.headers.get("location")), BOB)).toBe(200);
    expect(await hangup(server.url, callId(alice.headers.get("location")), ALICE)).toBe(200);
    await noSessionsLeft();
  });
});

describe("the connect deadline", () => {
  let strict: TestServer;
  let twoPorts: { first: number; last: number; setting: string };

  beforeAll(async () => {
    twoPorts = await freeUdpRange(2);
    strict = await startTestServer({ webrtcAnnounceAddresses: "127.0.0.1", webrtcUdpPorts: twoPorts.setting, webrtcConnectTimeoutSeconds: "1", realtimeIdleTimeoutSeconds: "300" });
  });

  afterAll(async () => {
    await strict?.close();
  });

  it("closes a call that never connects (no ICE, no data channel) after it, on an open server without a key", async () => {
    const answer = await postCall(strict.url, CHROMIUM_OFFER);
    expect(answer.status).toBe(201);
    expect(strict.server.app.realtime.stats().sessions).toBe(1);
    const started = Date.now();
    await waitFor("the unconnected call closed", async () => strict.server.app.realtime.stats().sessions === 0, 5_000);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("refuses a call with 503 when no UDP port of the range is free, and gives its place back", async () => {
    const calls = await Promise.all([postCall(strict.url, CHROMIUM_OFFER), postCall(strict.url, CHROMIUM_OFFER)]);
    expect(calls.map((call) => call.status)).toEqual([201, 201]);
    const third = await postCall(strict.url, CHROMIUM_OFFER);
    expect(third.status).toBe(503);
    expect(third.error).toMatchObject({ type: "server_error", code: "no_udp_port_free" });
    expect(third.headers.get("retry-after")).toBe("5");
    expect(strict.server.app.realtime.stats().sessions).toBe(2);
    await waitFor("the unconnected calls closed", async () => strict.server.app.realtime.stats().sessions === 0, 5_000);
    expect((await Promise.all([twoPorts.first, twoPorts.last].map(udpPortFree))).every(Boolean)).toBe(true);
  });
});

describe("a track that cannot be paused", () => {
  let slow: TestServer;

  beforeAll(async () => {
    slow = await startTestServer({ webrtcAnnounceAddresses: "127.0.0.1", realtimeMaxSpeed: "2" });
  });

  afterAll(async () => {
    await slow?.close();
  });

  it("drops audio beyond the speed limit with one error event, and takes it again once within it", async () => {
    const call = await openNodeCall(slow.url, { session: { type: "transcription", audio: { input: { turn_detection: null } } } });
    try {
      const completed = (count: number) =>
        waitFor(`${count} completed`, async () => {
          const done = call.events.filter((e) => e.type === "conversation.item.input_audio_transcription.completed");
          return done.length >= count && done;
        }, 60_000);
      // 20 s of audio at once: the first 10 s (the burst) and what 2 × real time allows meanwhile are taken.
      const flooded = Date.now();
      await call.sendSilence(1000, 0);
      const floodSeconds = (Date.now() - flooded) / 1000;
      await waitFor("the drop announced", async () => call.events.some((e) => e.type === "error"), 10_000);
      call.channel.send(JSON.stringify({ type: "input_audio_buffer.commit" }));
      // (usage counts whole seconds, rounded up.)
      const [first] = await completed(1);
      expect(first!.usage.seconds).toBeGreaterThanOrEqual(10);
      expect(first!.usage.seconds).toBeLessThanOrEqual(Math.ceil(10 + 2 * (floodSeconds + 1)));
      // Within the limit again: 2.5 s at real time are taken whole, with no new error.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      for (let i = 0; i < 125; i++) {
        await call.sendSilence(1, (1000 + i) * 960);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      call.channel.send(JSON.stringify({ type: "input_audio_buffer.commit" }));
      const [, second] = await completed(2);
      expect(second!.usage.seconds).toBe(3);
      expect(call.events.filter((e) => e.type === "error").map((e) => [e.error.type, e.error.code])).toEqual([["rate_limit_error", "input_audio_dropped"]]);

      // A binary message on the data channel: an error event naming the data channel; the session goes on.
      call.channel.send(Buffer.from([1, 2, 3]));
      await waitFor("the binary message refused", async () => call.events.filter((e) => e.type === "error").length === 2, 5_000);
      expect(call.events.filter((e) => e.type === "error")[1]!.error).toMatchObject({ code: "invalid_event", message: expect.stringMatching(/data channel/) });
    } finally {
      await call.close();
    }
    // The client's hanging up (its data channel closing, as a browser's pc.close() does) ends the call on the server.
    await waitFor("the call closed by the client", async () => slow.server.app.realtime.stats().sessions === 0, 5_000);
  });
});

describe("shutdown", () => {
  it("drains a call as it drains a socket: the committed turn is transcribed, then the call closes; new calls get 503", async () => {
    const draining = await startTestServer({ webrtcAnnounceAddresses: "127.0.0.1" });
    let closing: Promise<void> | undefined;
    const call = await openNodeCall(draining.url, { session: { type: "transcription", audio: { input: { turn_detection: null } } } }).catch(async (error: unknown) => {
      await draining.close();
      throw error;
    });
    try {
      await call.sendSilence(100, 0);
      await waitFor("the audio taken", async () => draining.server.app.realtime.stats().heldBytes > 0, 5_000);
      await new Promise((resolve) => setTimeout(resolve, 200));
      call.channel.send(JSON.stringify({ type: "input_audio_buffer.commit" }));
      await waitFor("the commit", async () => call.events.some((e) => e.type === "input_audio_buffer.committed"), 5_000);
      closing = draining.close();
      const refused = await postCall(draining.url, CHROMIUM_OFFER);
      expect(refused.status).toBe(503);
      expect(refused.error).toMatchObject({ code: "server_shutting_down" });
      await closing;
      expect(call.events.map((e) => e.type)).toContain("conversation.item.input_audio_transcription.completed");
      expect(call.channel.readyState).toBe("closed");
      expect(draining.server.app.realtime.stats().sessions).toBe(0);
    } finally {
      await call.close();
      await (closing ?? draining.close());
    }
  });
});
