// Property-based fuzzing (fast-check) of every door a client can write to: the transcription and job forms, the
// realtime session settings (minted into client secrets, and sent with session.update), client events, WebRTC call
// offers (raw and as forms), and the secrets themselves, tampered with. Whatever is sent: no process dies, every refusal is an OpenAI-shaped error with a
// 4xx status (never a 5xx), and the server stays healthy and still transcribes afterwards. A failure prints
// fast-check's seed and the shrunk input; `FUZZ_RUNS=n` runs each property n times (CI: the defaults below).
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { RealtimeClient, realtimeUrl, type ServerEvent } from "../support/realtime.js";
import { encodeWav } from "../support/speech.js";
import { startTestServer, type TestServer, waitFor } from "../support/server.js";
import { CHROMIUM_OFFER, hangup } from "../support/webrtc.js";

const KEY = "sk-earshot-fuzz-test-key-000";
const RUNS = Number(process.env.FUZZ_RUNS ?? 0);
const runs = (ci: number) => (RUNS > 0 ? RUNS : ci);

let server: TestServer;
let wav: Buffer;

beforeAll(async () => {
  server = await startTestServer({ apiKeys: KEY, realtimeMaxSessions: "20", webrtcAnnounceAddresses: "127.0.0.1" });
  // 1 s of a quiet tone: decodes, and transcribes in one short encoder pass of the generated model.
  const samples = new Float32Array(16_000).map((_, i) => 0.05 * Math.sin((2 * Math.PI * 220 * i) / 16_000));
  wav = encodeWav(samples, 16_000);
}, 120_000);

afterAll(async () => {
  console.log(Object.fromEntries([...statuses].map(([door, list]) => [door, Object.fromEntries([...new Set(list)].map((s) => [s, list.filter((x) => x === s).length]))])));
  await server?.close();
});

const auth = () => ({ authorization: `Bearer ${KEY}` });

/** An OpenAI error body: {error: {message, type, param, code}}. */
function expectOpenAiError(body: unknown, what: string): void {
  expect(body, what).toMatchObject({ error: { message: expect.any(String), type: expect.any(String) } });
  const error = (body as { error: Record<string, unknown> }).error;
  expect(["invalid_request_error", "authentication_error", "not_found_error", "rate_limit_error", "server_error"], what).toContain(error.type);
  expect(error.param === null || typeof error.param === "string", what).toBe(true);
  expect(error.code === null || typeof error.code === "string", what).toBe(true);
}

/** The first event of one of `types` received after the first `from` events. */
function nextAfter(client: RealtimeClient, from: number, types: string[], timeoutMs = 30_000): Promise<ServerEvent> {
  return client.until(types.join(" or "), (events) => events.slice(from).find((event) => types.includes(event.type)), timeoutMs);
}

async function expectHealthy(): Promise<void> {
  const health = await fetch(`${server.url}/health`);
  expect(health.status).toBe(200);
}

// ---- values a hostile or careless client sends -------------------------------------------------------------------

/** Strings that look like what the fields take, and strings that do not. */
const fieldValue = fc.oneof(
  fc.constantFrom(
    "", "json", "text", "srt", "vtt", "verbose_json", "diarized_json", "true", "True", "false", "0", "1", "-1", "0.2", "1e309", "NaN",
    "Infinity", "en", "EN", "xx", "auto", "none", "whisper-1", "gpt-4o-transcribe", "gpt-transcribe", "no-such-model", "word", "segment",
    "logprobs", '{"type":"server_vad","threshold":0.005}', '{"type":"server_vad","threshold":0}', '{"type":"auto"}', "{", "null", "[]",
    "__proto__", "constructor", "http://127.0.0.1/hook", "https://hooks.example.com/x", "data:audio/wav;base64,AAAA", "transcribe", "translate",
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.integer({ min: 1, max: 300_000 }).map((n) => "x".repeat(n)),
);

/** Values each field takes (and a few near misses): most forms get past validation and reach the pipeline. */
const VALID: Record<string, string[]> = {
  language: ["en", "de", "EN", "auto", ""],
  prompt: ["Hello.", "", "x".repeat(5_000)],
  response_format: ["json", "text", "srt", "vtt", "verbose_json"],
  temperature: ["0", "0.2", "1"],
  "timestamp_granularities[]": ["word", "segment"],
  stream: ["true", "false", "True"],
  "include[]": ["logprobs"],
  chunking_strategy: ["auto", '{"type":"server_vad","threshold":0.005}'],
  "keywords[]": ["Earshot", "whisper"],
  task: ["transcribe", "translate"],
  "metadata[customer]": ["acme", ""],
};

const FORM_NAMES = [
  "model", "language", "prompt", "response_format", "temperature", "timestamp_granularities[]", "timestamp_granularities", "stream",
  "include[]", "include", "chunking_strategy", "chunking_strategy[type]", "chunking_strategy[threshold]", "chunking_strategy[prefix_padding_ms]",
  "chunking_strategy[silence_duration_ms]", "languages[]", "keywords[]", "known_speaker_names[]", "known_speaker_references[]",
];
/** What /v1/audio/translations takes (every other transcription field is refused there, as at OpenAI). */
const TRANSLATION_NAMES = ["model", "prompt", "response_format", "temperature"];
const JOB_NAMES = [...FORM_NAMES, "task", "webhook_url", "metadata[customer]", "metadata[__proto__]", "metadata[constructor]", "metadata", "metadata[]"];

const fieldName = (known: string[]) => fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...known) }, { weight: 1, arbitrary: fc.string({ maxLength: 30 }) });

/** A field: mostly a name the route knows with a value it takes, else anything. */
const field = (known: string[]) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...Object.keys(VALID).filter((name) => known.includes(name))).chain((name) => fc.constantFrom(...VALID[name]!).map((value) => [name, value] as [string, string])) },
    { weight: 1, arbitrary: fc.tuple(fieldName(known), fieldValue) },
  );

const form = (known: string[]) =>
  fc.record({
    fields: fc.array(field(known), { maxLength: 5 }),
    file: fc.oneof(
      { weight: 4, arbitrary: fc.constant<"wav" | "none" | "empty">("wav") },
      { weight: 1, arbitrary: fc.constantFrom<"wav" | "none" | "empty">("none", "empty") },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2_000 }) },
    ),
    filename: fc.oneof({ weight: 3, arbitrary: fc.constant("speech.wav") }, { weight: 1, arbitrary: fc.oneof(fc.constantFrom("a.mp3", "noext", "", "../../etc/passwd", "x".repeat(300)), fc.string({ maxLength: 20 })) }),
    model: fc.oneof({ weight: 6, arbitrary: fc.constant("whisper-1") }, { weight: 1, arbitrary: fieldValue }),
  });

function formData(input: { fields: Array<[string, string]>; file: "wav" | "none" | "empty" | Uint8Array; filename: string; model: string }): FormData {
  const data = new FormData();
  data.append("model", input.model);
  for (const [name, value] of input.fields) data.append(name, value);
  if (input.file !== "none") {
    const bytes = input.file === "wav" ? wav : input.file === "empty" ? new Uint8Array() : input.file;
    data.append("file", new Blob([bytes]), input.filename);
  }
  return data;
}

/** The statuses each property got: it must reach past validation too (a fuzzer refused at the door tests little). */
const statuses = new Map<string, number[]>();

/** A 2xx answer, read whole, or an OpenAI-shaped 4xx. Never a 5xx, never a hang. */
async function expectAnswered(response: Response, what: string, okStatuses: number[]): Promise<unknown> {
  const text = await response.text();
  const door = what.split(" ")[0]!;
  statuses.set(door, [...(statuses.get(door) ?? []), response.status]);
  if (okStatuses.includes(response.status)) return text;
  expect(response.status, `${what} → ${response.status} ${text.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
  expect(response.status, `${what} → ${response.status} ${text.slice(0, 300)}`).toBeLessThan(500);
  let body: unknown;
  expect(() => (body = JSON.parse(text)), `${what}: not JSON: ${text.slice(0, 200)}`).not.toThrow();
  expectOpenAiError(body, what);
  return body;
}

// ---- realtime session settings, as the SDK types them and beyond ---------------------------------------------------

const anyJson = fc.jsonValue({ maxDepth: 3 });
/** Mostly `valid`, sometimes any JSON at all: most settings are taken, and every leaf is also tried with junk. */
const orJunk = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ weight: 6, arbitrary: valid as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: anyJson as fc.Arbitrary<unknown> });
const probability = orJunk(fc.oneof(fc.constantFrom(0, 0.005, 0.01, 0.15, 0.5, 0.99, 1), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: -1, max: 2 })));
const ms = orJunk(fc.oneof(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: -100, max: 20_000 }), fc.double()));
const fields = <T extends Record<string, fc.Arbitrary<unknown>>>(model: T) => fc.record(model, { requiredKeys: [] });

const turnDetection = orJunk(
  fc.oneof(
    fc.constant(null),
    fields({
      type: orJunk(fc.constantFrom("server_vad", "semantic_vad")),
      threshold: probability,
      prefix_padding_ms: ms,
      silence_duration_ms: ms,
      idle_timeout_ms: orJunk(fc.oneof(fc.constant(null), fc.integer({ min: 5_000, max: 30_000 }))),
      eagerness: orJunk(fc.constantFrom("low", "medium", "high", "auto")),
      create_response: orJunk(fc.boolean()),
    }),
  ),
);

const transcription = orJunk(
  fc.oneof(
    fc.constant(null),
    fields({
      model: orJunk(fc.constantFrom("whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe", "nope")),
      language: orJunk(fc.constantFrom("en", "de", "xx", "", null)),
      keywords: orJunk(fc.oneof(fc.array(fc.string({ maxLength: 30 }), { maxLength: 120 }), fc.constant(["a<b", "c\nd"]))),
      prompt: orJunk(fc.oneof(fc.string({ maxLength: 60 }), fc.integer({ min: 1, max: 400_000 }).map((n) => "p".repeat(n)))),
      delay: orJunk(fc.constantFrom("minimal", "low", "medium", "high", "xhigh", null)),
    }),
  ),
);

const audioFormat = orJunk(
  fc.oneof(
    fc.constantFrom("pcm16", "g711_ulaw", "g711_alaw"),
    fields({ type: orJunk(fc.constantFrom("audio/pcm", "audio/pcmu", "audio/pcma")), rate: orJunk(fc.constantFrom(8000, 16_000, 24_000, 0, -1, 1e9)) }),
  ),
);

const gaSession = fields({
  type: orJunk(fc.constantFrom("transcription")),
  audio: orJunk(fields({ input: orJunk(fields({ format: audioFormat, transcription, turn_detection: turnDetection, noise_reduction: orJunk(fc.constant(null)) })) })),
  include: orJunk(fc.constant(["item.input_audio_transcription.logprobs"])),
});

const betaSession = fields({
  input_audio_format: audioFormat,
  input_audio_transcription: transcription,
  turn_detection: turnDetection,
  include: orJunk(fc.constant(["item.input_audio_transcription.logprobs"])),
});

// ---- the properties ----------------------------------------------------------------------------------------------

describe("fuzzing every door: no crash, OpenAI-shaped refusals, a healthy server", () => {
  it("POST /v1/audio/transcriptions and /translations with arbitrary forms", async () => {
    // Each route gets its own fields (and junk names): translation forms made of transcription fields would all be
    // refused as unknown parameters and never reach the pipeline.
    const routeForm = fc.oneof(
      form(FORM_NAMES).map((input) => [input, "transcriptions"] as const),
      form(TRANSLATION_NAMES).map((input) => [input, "translations"] as const),
    );
    await fc.assert(
      fc.asyncProperty(routeForm, async ([input, route]) => {
        const response = await fetch(`${server.url}/v1/audio/${route}`, { method: "POST", headers: auth(), body: formData(input) });
        await expectAnswered(response, `${route} ${JSON.stringify({ ...input, file: typeof input.file === "string" ? input.file : `${input.file.length} bytes` }).slice(0, 400)}`, [200]);
      }),
      { numRuns: runs(40) },
    );
    expect(statuses.get("transcriptions"), "some forms were transcribed").toContain(200);
    expect(statuses.get("translations"), "some forms were translated").toContain(200);
    await expectHealthy();
  }, 300_000);

  it("POST /v1/audio/jobs with arbitrary forms (jobs accepted are cancelled)", async () => {
    await fc.assert(
      fc.asyncProperty(form(JOB_NAMES), async (input) => {
        const response = await fetch(`${server.url}/v1/audio/jobs`, { method: "POST", headers: auth(), body: formData(input) });
        const text = await expectAnswered(response, `jobs ${JSON.stringify(input.fields).slice(0, 400)}`, [202]);
        if (response.status === 202) {
          const job = JSON.parse(text as string) as { id: string; metadata: unknown };
          expect(Object.getPrototypeOf(job.metadata ?? {})).toBe(Object.prototype);
          await fetch(`${server.url}/v1/audio/jobs/${job.id}`, { method: "DELETE", headers: auth() });
        }
      }),
      { numRuns: runs(40) },
    );
    expect(statuses.get("jobs"), "some jobs were accepted").toContain(202);
    await expectHealthy();
  }, 300_000);

  it("realtime settings minted into a secret (GA and beta): refused with 400 naming the param, or a secret that opens a working session", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(gaSession.map((s) => ["ga", s] as const), betaSession.map((s) => ["beta", s] as const)), async ([dialect, session]) => {
        const route = dialect === "ga" ? "client_secrets" : "transcription_sessions";
        const body = dialect === "ga" ? { session } : session;
        const response = await fetch(`${server.url}/v1/realtime/${route}`, { method: "POST", headers: { ...auth(), "content-type": "application/json" }, body: JSON.stringify(body) });
        const text = await expectAnswered(response, `${route} ${JSON.stringify(body).slice(0, 300)}`, [200]);
        if (response.status !== 200) return;
        const minted = JSON.parse(text as string) as { value?: string; client_secret?: { value: string } };
        const secret = minted.value ?? minted.client_secret!.value;
        const client = await RealtimeClient.connect(realtimeUrl(server.url), { headers: { Authorization: `Bearer ${secret}` } });
        try {
          await client.next("session.created");
        } finally {
          await client.close();
        }
      }),
      { numRuns: runs(60) },
    );
    expect([...(statuses.get("client_secrets") ?? []), ...(statuses.get("transcription_sessions") ?? [])], "some settings were minted").toContain(200);
    await expectHealthy();
  }, 300_000);

  it("session.update with arbitrary settings: applied whole or refused whole (an error event), and the session keeps working", async () => {
    const answers: string[] = [];
    const client = await RealtimeClient.connect(realtimeUrl(server.url), { headers: { Authorization: `Bearer ${KEY}` } });
    await client.next("session.created");
    try {
      await fc.assert(
        fc.asyncProperty(gaSession, async (session) => {
          const from = client.events.length;
          client.send({ type: "session.update", session });
          const answer = await nextAfter(client, from, ["session.updated", "error"]);
          answers.push(answer.type);
          if (answer.type === "error") expect((answer as ServerEvent & { error: { type: string } }).error.type).toBe("invalid_request_error");
          expect(client.closed).toBeUndefined();
        }),
        { numRuns: runs(80) },
      );
      expect(answers).toContain("session.updated");
      expect(answers).toContain("error");
    } finally {
      await client.close();
    }
    await expectHealthy();
  }, 300_000);

  it("arbitrary client events and frames: error events, never a dead server", async () => {
    const eventType = fc.constantFrom(
      "session.update", "transcription_session.update", "input_audio_buffer.append", "input_audio_buffer.commit", "input_audio_buffer.clear",
      "conversation.item.create", "conversation.item.retrieve", "conversation.item.delete", "response.create", "nope", "",
    );
    const event = fc.oneof(
      fc.record({ type: eventType, event_id: fc.oneof(fc.string({ maxLength: 10 }), anyJson), audio: fc.oneof(fc.base64String({ maxLength: 400 }), fc.string({ maxLength: 40 }), anyJson), session: anyJson, item_id: anyJson }, { requiredKeys: ["type"] }).map((e) => JSON.stringify(e)),
      anyJson.map((value) => JSON.stringify(value)),
      fc.string({ maxLength: 200 }),
      fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
    );
    const client = await RealtimeClient.connect(realtimeUrl(server.url), { headers: { Authorization: `Bearer ${KEY}` } });
    await client.next("session.created");
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(event, { minLength: 1, maxLength: 10 }), async (frames) => {
          for (const frame of frames) client.socket.send(frame);
          expect(client.closed).toBeUndefined();
        }),
        { numRuns: runs(60) },
      );
      // Still a working session: a manual turn is committed and transcribed.
      const from = client.events.length;
      client.send({ type: "session.update", session: { type: "transcription", audio: { input: { format: { type: "audio/pcm", rate: 24_000 }, turn_detection: null } } } });
      await nextAfter(client, from, ["session.updated"]);
      client.send({ type: "input_audio_buffer.clear" });
      const tone = new Int16Array(24_000).map((_, i) => Math.round(3_000 * Math.sin((2 * Math.PI * 220 * i) / 24_000)));
      client.send({ type: "input_audio_buffer.append", audio: Buffer.from(tone.buffer).toString("base64") });
      client.send({ type: "input_audio_buffer.commit" });
      await nextAfter(client, from, ["conversation.item.input_audio_transcription.completed"], 60_000);
    } finally {
      await client.close();
    }
    await expectHealthy();
  }, 300_000);

  it("POST /v1/realtime/calls with offers cut, mixed and garbled (raw and as forms): answered or refused, never a leak", async () => {
    const lines = CHROMIUM_OFFER.split("\r\n");
    const junkLine = fc.oneof(
      fc.constantFrom(
        "m=audio 9 UDP/TLS/RTP/SAVPF 0", "m=audio 0 UDP/TLS/RTP/SAVPF 111", "a=rtpmap:111 opus/48000/2", "a=rtpmap:abc opus/48000", "a=setup:passive",
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "a=sctp-port:70000", "a=max-message-size:-1", "a=fingerprint:sha-256 00", "a=fingerprint:md5 AB",
        "a=ice-ufrag:", "a=ice-pwd:x", "a=group:BUNDLE 7 8", "a=mid:", "a=candidate:1 1 udp 1 10.0.0.1 9 typ host", "m=video 9 UDP/TLS/RTP/SAVPF 96", "c=IN IP6 ::",
      ),
      fc.string({ maxLength: 60 }),
    );
    const offer = fc.oneof(
      { weight: 4, arbitrary: fc.record({ drop: fc.array(fc.nat({ max: lines.length - 1 }), { maxLength: 2 }), put: fc.array(fc.tuple(fc.nat({ max: lines.length - 1 }), junkLine), { maxLength: 2 }) }).map(({ drop, put }) => {
        const mutated = lines.map((line, i) => (drop.includes(i) ? undefined : line));
        for (const [at, line] of put) mutated[at] = line;
        return mutated.filter((line) => line !== undefined).join("\r\n");
      }) },
      { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: "binary", maxLength: 300 })) },
    );
    const session = fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: gaSession.map((value) => JSON.stringify(value)) }, { weight: 1, arbitrary: fc.string({ maxLength: 40 }) });
    const request = fc.record({ offer, session });
    await fc.assert(
      fc.asyncProperty(request, async ({ offer: sdp, session }) => {
        let body: string | FormData = sdp;
        if (session !== undefined) {
          body = new FormData();
          body.set("sdp", sdp);
          body.set("session", session);
        }
        const headers: Record<string, string> = { ...auth(), ...(typeof body === "string" ? { "content-type": "application/sdp" } : {}) };
        const response = await fetch(`${server.url}/v1/realtime/calls`, { method: "POST", headers, body });
        const text = (await expectAnswered(response, `calls ${JSON.stringify(sdp.slice(0, 80))}`, [201])) as string;
        if (response.status === 201) {
          expect(text).toMatch(/^v=0\r\n/);
          expect(await hangup(server.url, response.headers.get("location")!.split("/").at(-1)!, KEY)).toBe(200);
        }
      }),
      { numRuns: runs(80) },
    );
    // Every call answered was hung up, and every refused one left nothing behind.
    await waitFor("no realtime session left", async () => server.server.app.realtime.stats().sessions === 0, 10_000);
    await expectHealthy();
  }, 300_000);

  it("tampered, truncated and foreign client secrets are refused with 401 before the upgrade", async () => {
    const { value } = await (await fetch(`${server.url}/v1/realtime/client_secrets`, { method: "POST", headers: { ...auth(), "content-type": "application/json" }, body: "{}" })).json() as { value: string };
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.nat({ max: value.length - 1 }).map((cut) => value.slice(0, cut)),
          fc.tuple(fc.nat({ max: value.length - 1 }), fc.constantFrom("A", "_", "-", ".", "0", "=", "%")).map(([at, c]) => value.slice(0, at) + c + value.slice(at + 1)),
          fc.string({ maxLength: 300 }).map((tail) => `ek_${tail}`),
          fc.string({ maxLength: 100 }).map((tail) => `${value}${tail}`),
        ),
        async (token) => {
          // Only what a header can carry (anything else is refused by the client library before it is sent).
          if (token === value || !/^[\x21-\x7e]+$/.test(token)) return;
          const error = (await RealtimeClient.connect(realtimeUrl(server.url), { headers: { Authorization: `Bearer ${token}` } }).then(
            async (client) => {
              await client.close();
              throw new Error(`accepted a tampered secret: ${token}`);
            },
            (e: unknown) => e,
          )) as { status?: number; body?: string; message?: string };
          expect(error.status, `${token}: ${String(error.message)}`).toBe(401);
          expectOpenAiError(JSON.parse(error.body!), token);
        },
      ),
      { numRuns: runs(100) },
    );
    await expectHealthy();
  }, 300_000);
});
