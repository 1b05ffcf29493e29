// Webhook deliveries to a real loopback HTTP receiver: Standard Webhooks signatures that standardwebhooks'
// Webhook.verify and the openai SDK's webhooks.unwrap accept (a tampered body or a foreign key they reject),
// retries with backoff on 5xx, 429, timeouts and refused connections, none on other 4xx or redirects, the
// allowlist, the pending bound, and the key kept in the data dir. (Internal addresses: webhookTargets.test.ts.)
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";

import OpenAI, { InvalidWebhookSignatureError } from "openai";
import { Webhook, WebhookVerificationError } from "standardwebhooks";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { ConfigError, loadConfig } from "../../src/config.js";
import { ApiError } from "../../src/api/errors.js";
import { generateWebhookSecret, loadWebhookSecret, WEBHOOK_SECRET_FILE } from "../../src/jobs/webhookSecret.js";
import { allowlistMatches, validateWebhookUrl } from "../../src/jobs/webhookUrl.js";
import { jobEvent, WebhookSender, type WebhookSenderOptions } from "../../src/jobs/webhooks.js";

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

/** A loopback receiver answering each request with the next of `answers` (the last one repeated). */
class Receiver {
  readonly received: Received[] = [];
  answers: Array<number | "hang" | { status: number; headers: Record<string, string> }> = [200];
  private readonly server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      this.received.push({ headers: request.headers, body: Buffer.concat(chunks).toString("utf8"), at: Date.now() });
      const answer = this.answers[Math.min(this.received.length - 1, this.answers.length - 1)]!;
      if (answer === "hang") return;
      const { status, headers } = typeof answer === "number" ? { status: answer, headers: {} } : answer;
      response.writeHead(status, headers).end("ok");
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/earshot`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const secret = generateWebhookSecret();
let receiver: Receiver;
let url: string;
const senders: WebhookSender[] = [];

/** A sender allowed to post to this loopback receiver, as an operator allows an internal target (webhookTarget.ts). */
function sender(options: Partial<WebhookSenderOptions> = {}): WebhookSender {
  const made = new WebhookSender({ secret, allowlist: [], allowedNetworks: ["127.0.0.1"], attempts: 4, timeoutMs: 2_000, retryDelayMs: 50, maxPending: 100, ...options });
  senders.push(made);
  return made;
}

const event = () => jobEvent({ id: "job_0123456789abcdef01234567", status: "succeeded", metadata: { customer: "acme" } });

beforeAll(async () => {
  receiver = new Receiver();
  url = await receiver.start();
});
afterAll(async () => {
  await receiver.stop();
});
afterEach(() => {
  for (const made of senders.splice(0)) made.close();
  receiver.received.length = 0;
  receiver.answers = [200];
});

describe("signatures", () => {
  it("a delivered event verifies with standardwebhooks' Webhook.verify; a tampered body or another key does not", async () => {
    const sent = event();
    const outcome = await sender().send(url, sent);
    expect(outcome).toMatchObject({ delivered: true, attempts: 1, status: 200 });
    expect(receiver.received).toHaveLength(1);
    const [{ headers, body }] = receiver.received as [Received];
    expect(headers["content-type"]).toBe("application/json");
    expect(headers["webhook-id"]).toBe(sent.id);
    expect(Number(headers["webhook-timestamp"])).toBeCloseTo(Date.now() / 1000, -1);
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);

    const signed = { "webhook-id": headers["webhook-id"] as string, "webhook-timestamp": headers["webhook-timestamp"] as string, "webhook-signature": headers["webhook-signature"] as string };
    const verified = new Webhook(secret).verify(body, signed);
    expect(verified).toEqual({
      id: sent.id,
      object: "event",
      type: "audio.job.succeeded",
      created_at: sent.created_at,
      data: { id: "job_0123456789abcdef01234567", status: "succeeded", metadata: { customer: "acme" } },
    });
    expect(sent.id).toMatch(/^evt_[0-9a-f]{24}$/);
    // The official SDK verifies them as it verifies OpenAI's own webhooks.
    const openai = new OpenAI({ apiKey: "sk-unused", webhookSecret: secret });
    expect(await openai.webhooks.unwrap(body, signed)).toEqual(verified);
    await expect(openai.webhooks.unwrap(body.replace('"succeeded"', '"failed"'), signed)).rejects.toThrow(InvalidWebhookSignatureError);

    const tampered = body.replace('"succeeded"', '"failed"');
    expect(tampered).not.toBe(body);
    expect(() => new Webhook(secret).verify(tampered, signed)).toThrow(WebhookVerificationError);
    expect(() => new Webhook(generateWebhookSecret()).verify(body, signed)).toThrow(WebhookVerificationError);
    expect(() => new Webhook(secret).verify(body, { ...signed, "webhook-id": "evt_other" })).toThrow(WebhookVerificationError);
  });

  it("jobEvent names the status in the type, for failed and cancelled too", () => {
    expect(jobEvent({ id: "job_x", status: "failed", metadata: null })).toMatchObject({ type: "audio.job.failed", data: { status: "failed", metadata: null } });
    expect(jobEvent({ id: "job_x", status: "cancelled", metadata: null }).type).toBe("audio.job.cancelled");
  });
});

describe("retries", () => {
  it("a receiver answering 500 twice then 200 gets 3 attempts, each with the same webhook-id and a valid signature, after growing delays", async () => {
    receiver.answers = [500, 500, 200];
    const sent = event();
    const outcome = await sender({ retryDelayMs: 100 }).send(url, sent);
    expect(outcome).toMatchObject({ delivered: true, attempts: 3, status: 200 });
    expect(receiver.received).toHaveLength(3);
    for (const { headers, body } of receiver.received) {
      expect(headers["webhook-id"]).toBe(sent.id);
      new Webhook(secret).verify(body, headers as Record<string, string>);
    }
    const [first, second, third] = receiver.received.map((r) => r.at) as [number, number, number];
    expect(second - first).toBeGreaterThanOrEqual(90);
    expect(third - second).toBeGreaterThanOrEqual(190);
  });

  it("429 is retried, after the Retry-After the receiver asks for", async () => {
    receiver.answers = [{ status: 429, headers: { "retry-after": "1" } }, 204];
    const outcome = await sender({ retryDelayMs: 10 }).send(url, event());
    expect(outcome).toMatchObject({ delivered: true, attempts: 2, status: 204 });
    const [first, second] = receiver.received.map((r) => r.at) as [number, number];
    expect(second - first).toBeGreaterThanOrEqual(950);
  });

  it("gives up after the configured attempts", async () => {
    receiver.answers = [503];
    const outcome = await sender({ attempts: 3, retryDelayMs: 10 }).send(url, event());
    expect(outcome).toMatchObject({ delivered: false, attempts: 3, status: 503 });
    expect(outcome.reason).toMatch(/503.*gave up after 3 attempts/);
    expect(receiver.received).toHaveLength(3);
  });

  it("another 4xx, or a redirect, is not retried (and the redirect not followed)", async () => {
    receiver.answers = [410];
    expect(await sender().send(url, event())).toMatchObject({ delivered: false, attempts: 1, status: 410 });
    expect(receiver.received).toHaveLength(1);
    receiver.received.length = 0;
    receiver.answers = [{ status: 302, headers: { location: "http://127.0.0.1:1/elsewhere" } }];
    expect(await sender().send(url, event())).toMatchObject({ delivered: false, attempts: 1, status: 302 });
    expect(receiver.received).toHaveLength(1);
  });

  it("an attempt with no answer within the timeout is aborted and retried", async () => {
    receiver.answers = ["hang", 200];
    const started = Date.now();
    const outcome = await sender({ timeoutMs: 300, retryDelayMs: 10 }).send(url, event());
    expect(outcome).toMatchObject({ delivered: true, attempts: 2 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it("a refused connection is retried, then given up naming the error", async () => {
    const gone = new Receiver();
    const goneUrl = await gone.start();
    await gone.stop();
    const outcome = await sender({ attempts: 2, retryDelayMs: 10 }).send(goneUrl, event());
    expect(outcome).toMatchObject({ delivered: false, attempts: 2 });
    expect(outcome.status).toBeUndefined();
    expect(outcome.reason).toMatch(/ECONNREFUSED/);
  });
});

describe("bounds", () => {
  it("events beyond maxPending are dropped at once; close gives up the pending ones", async () => {
    receiver.answers = [500];
    const limited = sender({ maxPending: 2, retryDelayMs: 60_000 });
    const first = limited.send(url, event());
    const second = limited.send(url, event());
    expect(await limited.send(url, event())).toMatchObject({ delivered: false, attempts: 0, reason: expect.stringMatching(/2 webhook events are already pending/) });
    expect(limited.pendingCount).toBe(2);
    while (receiver.received.length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
    limited.close();
    expect(await first).toMatchObject({ delivered: false, reason: "the server shut down" });
    expect(await second).toMatchObject({ delivered: false, attempts: 1 });
    expect(limited.pendingCount).toBe(0);
    expect(await limited.send(url, event())).toMatchObject({ delivered: false, attempts: 0 });
  });
});

describe("allowlist", () => {
  it("the sender never posts outside the allowlist", async () => {
    const outcome = await sender({ allowlist: ["hooks.example.com"] }).send(url, event());
    expect(outcome).toMatchObject({ delivered: false, attempts: 0, reason: expect.stringMatching(/not in this server's webhook allowlist/) });
    expect(receiver.received).toHaveLength(0);
    expect(await sender({ allowlist: ["hooks.example.com", "127.0.0.1"] }).send(url, event())).toMatchObject({ delivered: true });
    expect(await sender({ allowlist: [new URL(url).origin] }).send(url, event())).toMatchObject({ delivered: true });
    expect(await sender({ allowlist: ["https://127.0.0.1"] }).send(url, event())).toMatchObject({ delivered: false, attempts: 0 });
    expect(receiver.received).toHaveLength(2);
  });

  it("hosts, subdomain wildcards and origins", () => {
    const at = (raw: string) => new URL(raw);
    expect(allowlistMatches(at("https://Hooks.Example.com/x"), "hooks.example.com")).toBe(true);
    expect(allowlistMatches(at("http://hooks.example.com:9000/x"), "hooks.example.com")).toBe(true);
    expect(allowlistMatches(at("https://evil-hooks.example.com/x"), "hooks.example.com")).toBe(false);
    expect(allowlistMatches(at("https://hooks.example.com.evil.net/x"), "hooks.example.com")).toBe(false);
    expect(allowlistMatches(at("https://a.b.example.com/x"), "*.example.com")).toBe(true);
    expect(allowlistMatches(at("https://example.com/x"), "*.example.com")).toBe(false);
    expect(allowlistMatches(at("https://badexample.com/x"), "*.example.com")).toBe(false);
    expect(allowlistMatches(at("https://hooks.example.com:8443/x"), "https://hooks.example.com:8443")).toBe(true);
    expect(allowlistMatches(at("https://hooks.example.com/x"), "https://hooks.example.com:8443")).toBe(false);
    expect(allowlistMatches(at("http://hooks.example.com:8443/x"), "https://hooks.example.com:8443/")).toBe(false);
    expect(allowlistMatches(at("http://[::1]:8080/x"), "[::1]")).toBe(true);
  });

  it("validateWebhookUrl: the URL or null, else a 400 naming webhook_url in OpenAI's error shape", () => {
    expect(validateWebhookUrl(undefined, [])).toBeNull();
    expect(validateWebhookUrl("", ["a.example"])).toBeNull();
    expect(validateWebhookUrl("https://a.example/h?x=1", ["a.example"])).toBe("https://a.example/h?x=1");
    const refused = (raw: string, allowlist: string[] = []): ApiError => {
      try {
        validateWebhookUrl(raw, allowlist);
      } catch (error) {
        return error as ApiError;
      }
      throw new Error(`${raw} was accepted`);
    };
    for (const [raw, message] of [
      ["https://b.example/h", /'b\.example' is not in this server's webhook allowlist/],
      ["ftp://a.example/h", /absolute http:\/\/ or https:\/\/ URL/],
      ["/relative", /absolute http:\/\/ or https:\/\/ URL/],
      ["https://user:pw@a.example/h", /credentials/],
      [`https://a.example/${"x".repeat(2100)}`, /longer than 2048/],
    ] as const) {
      const error = refused(raw, ["a.example"]);
      expect(error).toBeInstanceOf(ApiError);
      expect(error.status).toBe(400);
      expect(error.body()).toEqual({ error: { message: expect.stringMatching(message), type: "invalid_request_error", param: "webhook_url", code: "invalid_webhook_url" } });
    }
  });
});

describe("the signing key", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-webhook-key-"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("without EARSHOT_WEBHOOK_SECRET a random key is made once in the data dir (0600) and kept across restarts", () => {
    const dataDir = path.join(dir, "data");
    const first = loadWebhookSecret({ dataDir });
    const file = path.join(dataDir, WEBHOOK_SECRET_FILE);
    expect(first).toEqual({ secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/), source: { kind: "file", path: file, created: true } });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(file, "utf8").trim()).toBe(first.secret);
    expect(loadWebhookSecret({ dataDir })).toEqual({ secret: first.secret, source: { kind: "file", path: file, created: false } });
    expect(fs.readdirSync(dataDir)).toEqual([WEBHOOK_SECRET_FILE]);
    new Webhook(first.secret);
  });

  it("EARSHOT_WEBHOOK_SECRET wins (whsec_ optional); a malformed one stops startup without echoing it", () => {
    const key = generateWebhookSecret();
    const { webhookSecret } = loadConfig(["webhookSecret"], {}, { EARSHOT_WEBHOOK_SECRET: key }, {});
    expect(loadWebhookSecret({ webhookSecret, dataDir: path.join(dir, "unused") })).toEqual({ secret: key, source: { kind: "config" } });
    expect(fs.existsSync(path.join(dir, "unused"))).toBe(false);
    expect(loadWebhookSecret({ webhookSecret: key.slice(6), dataDir: dir }).secret).toBe(key);
    const bad = "whsec_not base64!";
    expect(() => loadConfig(["webhookSecret"], {}, { EARSHOT_WEBHOOK_SECRET: bad }, {})).toThrow(ConfigError);
    expect(() => loadConfig(["webhookSecret"], {}, { EARSHOT_WEBHOOK_SECRET: bad }, {})).toThrow(/EARSHOT_WEBHOOK_SECRET.*\*\*\*\*/);
    expect(() => loadConfig(["webhookSecret"], {}, { EARSHOT_WEBHOOK_SECRET: "whsec_c2hvcnQ=" }, {})).toThrow(/at least 24 bytes/);
  });
});
