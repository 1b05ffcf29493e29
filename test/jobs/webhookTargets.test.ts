// Webhooks go to public addresses only unless the operator allows internal ones (server-side request forgery):
// every spelling of a loopback, private, link-local, metadata, unique-local, multicast, unspecified, broadcast,
// CGNAT, documentation or IPv4-embedding IPv6 address is refused at submit (400 through the real server), as is
// a name resolving to one; the sender resolves again before every attempt, refuses (without retrying) when the
// name now points inside (DNS rebinding), and connects only to the addresses it checked; an allowlist entry
// naming the host, or EARSHOT_WEBHOOK_ALLOWED_NETWORKS, lets internal targets through.
import type { LookupAddress } from "node:dns";
import http from "node:http";
import type { AddressInfo } from "node:net";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { ConfigError, loadConfig } from "../../src/config.js";
import { ApiError } from "../../src/api/errors.js";
import { nonPublicRange } from "../../src/jobs/webhookAddress.js";
import { validateWebhookTarget, WebhookTargetRefused, WebhookTargets, type HostResolver } from "../../src/jobs/webhookTarget.js";
import { generateWebhookSecret } from "../../src/jobs/webhookSecret.js";
import { jobEvent, WebhookSender, type WebhookSenderOptions } from "../../src/jobs/webhooks.js";
import { encodeWav } from "../support/speech.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { JobsClient, type ErrorBody } from "./jobsClient.js";

/** Internal targets in the spellings an attacker would try; WHATWG URL parsing turns each into an address. */
const INTERNAL_URLS = [
  "http://127.0.0.1:6379/",
  "http://127.255.255.254/hook",
  "http://127.1/hook",
  "http://0x7f.1/hook",
  "http://0x7f000001/hook",
  "http://2130706433/hook",
  "http://0177.0.0.1/hook",
  "http://017700000001/hook",
  "http://%31%32%37.0.0.1/hook",
  "http://127.0.0.1./hook",
  "http://[::1]:8080/hook",
  "http://[0:0:0:0:0:0:0:1]/hook",
  "http://[::ffff:127.0.0.1]/hook",
  "http://[::ffff:7f00:1]/hook",
  "http://[::ffff:0:127.0.0.1]/hook",
  "http://[::127.0.0.1]/hook",
  "http://[64:ff9b::127.0.0.1]/hook",
  "http://[64:ff9b:1::a00:1]/hook",
  "http://[2002:7f00:1::1]/hook",
  "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook",
  "http://169.254.169.254/latest/meta-data/",
  "http://[::ffff:169.254.169.254]/latest/meta-data/",
  "http://0xa9fea9fe/latest/meta-data/",
  "http://[fe80::1]/hook",
  "http://10.0.0.1/hook",
  "http://10.255.255.255/hook",
  "http://172.16.0.1/hook",
  "http://172.31.255.1/hook",
  "http://192.168.1.1/hook",
  "http://[::ffff:192.168.1.1]/hook",
  "http://[fd00::1]/hook",
  "http://[fc00::1]/hook",
  "http://100.64.0.1/hook",
  "http://0.0.0.0/hook",
  "http://0/hook",
  "http://[::]/hook",
  "http://255.255.255.255/hook",
  "http://224.0.0.1/hook",
  "http://[ff02::1]/hook",
  "http://192.0.2.1/hook",
  "http://198.51.100.7/hook",
  "http://203.0.113.9/hook",
  "http://198.18.0.1/hook",
  "http://240.0.0.1/hook",
  "http://[2001:db8::1]/hook",
  "https://127.0.0.1/hook",
  "https://[::1]/hook",
];

/** Public addresses, in IPv4, IPv6 and IPv4-embedding IPv6 forms. */
const PUBLIC_HOSTS = ["8.8.8.8", "1.1.1.1", "93.184.215.14", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1", "172.32.0.1", "100.128.0.1"];

const hostOf = (raw: string) => new URL(raw).hostname.replace(/^\[(.*)\]$/, "$1");

/** A resolver answering each call with the next of `answers` (the last repeated), counting its calls. */
function scriptedResolver(...answers: Array<string[] | Error | "hang">): HostResolver & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (hostname: string): Promise<LookupAddress[]> => {
    calls.push(hostname);
    const answer = answers[Math.min(calls.length - 1, answers.length - 1)]!;
    if (answer === "hang") return new Promise<never>(() => undefined);
    if (answer instanceof Error) throw answer;
    return answer.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
  };
  return Object.assign(resolve, { calls });
}

const dnsError = (code: string) => Object.assign(new Error(`getaddrinfo ${code}`), { code });

describe("address classification", () => {
  it("every spelling of an internal address is not public, naming its range", () => {
    for (const raw of INTERNAL_URLS) expect(nonPublicRange(hostOf(raw)), raw).toEqual(expect.any(String));
    expect(nonPublicRange(hostOf("http://0x7f.1/"))).toBe("loopback");
    expect(nonPublicRange(hostOf("http://169.254.169.254/"))).toBe("link-local");
    expect(nonPublicRange(hostOf("http://[::ffff:10.1.2.3]/"))).toBe("IPv4-mapped private (RFC 1918)");
    expect(nonPublicRange(hostOf("http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/"))).toBe("Teredo loopback");
    expect(nonPublicRange("100.64.0.1")).toBe("carrier-grade NAT");
    expect(nonPublicRange("localhost")).toBe("not an IP address");
  });

  it("public unicast addresses are public", () => {
    for (const host of PUBLIC_HOSTS) expect(nonPublicRange(host), host).toBeUndefined();
  });
});

describe("WebhookTargets.check", () => {
  const targets = (options: Partial<ConstructorParameters<typeof WebhookTargets>[0]> = {}) =>
    new WebhookTargets({ allowlist: [], allowedNetworks: [], dnsTimeoutMs: 1_000, ...options });

  it("refuses a literal internal address, and a name when ANY of its addresses is internal", async () => {
    for (const raw of INTERNAL_URLS) await expect(targets().check(new URL(raw)), raw).rejects.toThrow(WebhookTargetRefused);
    expect(await targets().check(new URL("https://8.8.8.8/hook"))).toEqual({ addresses: [] });
    const resolver = scriptedResolver(["93.184.215.14", "10.0.0.7"]);
    await expect(targets({ resolve: resolver }).check(new URL("https://hooks.example.com/h"))).rejects.toThrow(/'hooks\.example\.com' \(10\.0\.0\.7\) is not a public address \(private/);
    const publicOnly = scriptedResolver(["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]);
    expect((await targets({ resolve: publicOnly }).check(new URL("https://hooks.example.com/h"))).addresses).toHaveLength(2);
  });

  it("localhost, from the system's hosts file, is refused", async () => {
    await expect(targets().check(new URL("http://localhost:8080/hook"))).rejects.toThrow(/'localhost' \((127\.0\.0\.1|::1)\) is not a public address \(loopback\)/);
    await expect(targets().check(new URL("http://LocalHost/hook"))).rejects.toThrow(WebhookTargetRefused);
  });

  it("an allowlist entry naming the host or its origin allows its internal addresses; a wildcard does not", async () => {
    const resolver = scriptedResolver(["10.0.0.7"]);
    const url = new URL("http://hooks.internal:8080/h");
    expect(await targets({ allowlist: ["hooks.internal"], resolve: resolver }).check(url)).toEqual({ addresses: [{ address: "10.0.0.7", family: 4 }] });
    expect(await targets({ allowlist: ["http://hooks.internal:8080"], resolve: resolver }).check(url)).toMatchObject({ addresses: [{ address: "10.0.0.7" }] });
    await expect(targets({ allowlist: ["*.internal"], resolve: resolver }).check(url)).rejects.toThrow(WebhookTargetRefused);
    await expect(targets({ allowlist: ["http://hooks.internal:9090", "other.internal"], resolve: resolver }).check(url)).rejects.toThrow(WebhookTargetRefused);
    expect(await targets({ allowlist: ["127.0.0.1"] }).check(new URL("http://127.0.0.1:6379/"))).toEqual({ addresses: [] });
    expect(await targets({ allowlist: ["[::1]"] }).check(new URL("http://[::1]/"))).toEqual({ addresses: [] });
    await expect(targets({ allowlist: ["127.0.0.1"] }).check(new URL("http://[::ffff:127.0.0.1]/"))).rejects.toThrow(WebhookTargetRefused);
  });

  it("EARSHOT_WEBHOOK_ALLOWED_NETWORKS allows exactly its ranges, IPv4-mapped forms included", async () => {
    const tenOne = targets({ allowedNetworks: ["10.1.0.0/16", "fd12::/16"] });
    for (const raw of ["http://10.1.2.3/", "http://[::ffff:10.1.2.3]/", "http://[fd12::5]/", "http://8.8.8.8/"]) expect(await tenOne.check(new URL(raw)), raw).toEqual({ addresses: [] });
    for (const raw of ["http://10.2.0.1/", "http://127.0.0.1/", "http://[fd13::5]/", "http://169.254.169.254/"]) await expect(tenOne.check(new URL(raw)), raw).rejects.toThrow(WebhookTargetRefused);
    const resolver = scriptedResolver(["10.1.0.9", "10.3.0.9"]);
    await expect(targets({ allowedNetworks: ["10.1.0.0/16"], resolve: resolver }).check(new URL("http://svc.internal/"))).rejects.toThrow(/10\.3\.0\.9/);
  });

  it("a lookup that fails or hangs fails (not refused) within the DNS deadline", async () => {
    await expect(targets({ resolve: scriptedResolver(dnsError("ENOTFOUND")) }).check(new URL("http://gone.example/"))).rejects.toMatchObject({ code: "ENOTFOUND" });
    await expect(targets({ resolve: scriptedResolver([]) }).check(new URL("http://empty.example/"))).rejects.toMatchObject({ code: "ENOTFOUND" });
    const started = Date.now();
    await expect(targets({ dnsTimeoutMs: 150, resolve: scriptedResolver("hang") }).check(new URL("http://slow.example/"))).rejects.toMatchObject({ code: "ETIMEOUT" });
    expect(Date.now() - started).toBeLessThan(1_000);
    const stop = new AbortController();
    const aborted = targets({ resolve: scriptedResolver("hang") }).check(new URL("http://slow.example/"), stop.signal);
    stop.abort(new Error("stopped"));
    await expect(aborted).rejects.toThrow("stopped");
  });

  it("validateWebhookTarget: a 400 naming webhook_url for an internal target; a name that does not resolve now is accepted", async () => {
    const error = await validateWebhookTarget("http://169.254.169.254/latest/meta-data/", targets()).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(400);
    expect((error as ApiError).body()).toEqual({
      error: { message: expect.stringMatching(/'169\.254\.169\.254' is not a public address \(link-local\).*EARSHOT_WEBHOOK_ALLOWED_NETWORKS/), type: "invalid_request_error", param: "webhook_url", code: "invalid_webhook_url" },
    });
    await expect(validateWebhookTarget(null, targets())).resolves.toBeUndefined();
    await expect(validateWebhookTarget("https://gone.example/h", targets({ resolve: scriptedResolver(dnsError("ENOTFOUND")) }))).resolves.toBeUndefined();
    await expect(validateWebhookTarget("https://slow.example/h", targets({ dnsTimeoutMs: 50, resolve: scriptedResolver("hang") }))).resolves.toBeUndefined();
    await expect(validateWebhookTarget("https://rebound.example/h", targets({ resolve: scriptedResolver(["192.168.0.10"]) }))).rejects.toThrow(ApiError);
  });

  it("the settings: EARSHOT_WEBHOOK_ALLOWED_NETWORKS takes addresses and CIDR ranges only; the DNS deadline defaults to 3 s", () => {
    const env = (value: string) => loadConfig(["webhookAllowedNetworks", "webhookDnsTimeoutSeconds"], {}, { EARSHOT_WEBHOOK_ALLOWED_NETWORKS: value }, {});
    expect(env("10.0.0.0/8, fd00::/8,127.0.0.1,[::1]")).toEqual({ webhookAllowedNetworks: ["10.0.0.0/8", "fd00::/8", "127.0.0.1", "[::1]"], webhookDnsTimeoutSeconds: 3 });
    for (const bad of ["10.0.0.0/33", "localhost", "0x7f.1", "10.0.0.0/8,*.internal", "fd00::/129"]) expect(() => env(bad), bad).toThrow(ConfigError);
    expect(loadConfig(["webhookAllowedNetworks"], {}, {}, {})).toEqual({ webhookAllowedNetworks: [] });
  });
});

interface Received {
  host: string | undefined;
  at: number;
}

describe("the sender, at every attempt", () => {
  let receiver: http.Server;
  let port: number;
  const received: Received[] = [];
  let answers: number[] = [200];
  const secret = generateWebhookSecret();
  const warnings: Array<{ fields: Record<string, unknown>; message: string }> = [];
  const log = { info: () => undefined, warn: (fields: object, message: string) => void warnings.push({ fields: fields as Record<string, unknown>, message }) };

  beforeAll(async () => {
    receiver = http.createServer((request, response) => {
      request.resume();
      request.on("end", () => {
        received.push({ host: request.headers.host, at: Date.now() });
        response.writeHead(answers[Math.min(received.length - 1, answers.length - 1)]!).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    port = (receiver.address() as AddressInfo).port;
  });
  afterAll(async () => {
    receiver.closeAllConnections();
    await new Promise((resolve) => receiver.close(resolve));
  });

  const send = async (url: string, options: Partial<WebhookSenderOptions>) => {
    received.length = 0;
    warnings.length = 0;
    const sender = new WebhookSender({ secret, allowlist: [], attempts: 3, timeoutMs: 2_000, retryDelayMs: 20, maxPending: 10, log, ...options });
    try {
      return await sender.send(url, jobEvent({ id: "job_0123456789abcdef01234567", status: "succeeded", metadata: { attacker: "chosen" } }));
    } finally {
      sender.close();
    }
  };

  it("by default posts nothing to a loopback receiver: given up at once, not retried, with a log line naming why", async () => {
    answers = [200];
    for (const url of [`http://127.0.0.1:${port}/hook`, `http://localhost:${port}/hook`, `http://0x7f.1:${port}/hook`, `http://[::ffff:127.0.0.1]:${port}/hook`]) {
      const outcome = await send(url, {});
      expect(outcome, url).toMatchObject({ delivered: false, attempts: 0, reason: expect.stringMatching(/is not a public address \(.*loopback\).*\(not retried\)$/) });
      expect(received, url).toHaveLength(0);
      expect(warnings, url).toEqual([{ message: "webhook not delivered", fields: expect.objectContaining({ url, attempts: 0, reason: outcome.reason }) }]);
    }
  });

  it("the metadata address is refused at once, not retried 8 times", async () => {
    const started = Date.now();
    const outcome = await send("http://169.254.169.254/latest/meta-data/iam/security-credentials/", { attempts: 8, retryDelayMs: 1_000 });
    expect(outcome).toMatchObject({ delivered: false, attempts: 0, reason: expect.stringMatching(/link-local/) });
    expect(Date.now() - started).toBeLessThan(500);
  });

  it("with the operator's allowance, delivers to loopback as before", async () => {
    answers = [200];
    expect(await send(`http://127.0.0.1:${port}/hook`, { allowedNetworks: ["127.0.0.0/8"] })).toMatchObject({ delivered: true, attempts: 1, status: 200 });
    expect(await send(`http://127.0.0.1:${port}/hook`, { allowlist: [`http://127.0.0.1:${port}`] })).toMatchObject({ delivered: true, attempts: 1 });
    expect(await send(`http://localhost:${port}/hook`, { allowlist: ["localhost"] })).toMatchObject({ delivered: true, attempts: 1 });
    expect(received).toHaveLength(1);
  });

  it("connects to exactly the address it checked, with the URL's host name in Host", async () => {
    answers = [204];
    // receiver.invalid resolves nowhere but through the injected resolver: the connection went where it said.
    const resolver = scriptedResolver(["127.0.0.1"]);
    const outcome = await send(`http://receiver.invalid:${port}/hook`, { allowedNetworks: ["127.0.0.1"], resolve: resolver });
    expect(outcome).toMatchObject({ delivered: true, attempts: 1, status: 204 });
    expect(received.map((r) => r.host)).toEqual([`receiver.invalid:${port}`]);
    expect(resolver.calls).toEqual(["receiver.invalid"]);
  });

  it("DNS rebinding: a name that pointed at an allowed address and now points inside is refused at the next attempt, never retried", async () => {
    answers = [503];
    const resolver = scriptedResolver(["127.0.0.1"], ["169.254.169.254"], ["127.0.0.1"]);
    const outcome = await send(`http://rebind.invalid:${port}/hook`, { allowedNetworks: ["127.0.0.1"], attempts: 5, resolve: resolver });
    expect(outcome).toMatchObject({ delivered: false, attempts: 1, reason: expect.stringMatching(/'rebind\.invalid' \(169\.254\.169\.254\) is not a public address \(link-local\).*\(not retried\)/) });
    expect(received).toHaveLength(1);
    expect(resolver.calls).toHaveLength(2);
    expect(warnings.at(-1)).toMatchObject({ message: "webhook not delivered", fields: { reason: outcome.reason } });
  });

  it("a name with a public and an internal address is refused before any connection", async () => {
    const resolver = scriptedResolver(["93.184.215.14", "127.0.0.1"]);
    expect(await send(`http://mixed.invalid:${port}/hook`, { resolve: resolver })).toMatchObject({ delivered: false, attempts: 0, reason: expect.stringMatching(/127\.0\.0\.1.*loopback/) });
    expect(received).toHaveLength(0);
  });

  it("a lookup that fails or times out counts as a failed attempt: retried, then given up naming it", async () => {
    const missing = await send("http://gone.invalid/hook", { attempts: 2, resolve: scriptedResolver(dnsError("ENOTFOUND")) });
    expect(missing).toMatchObject({ delivered: false, attempts: 2, reason: expect.stringMatching(/ENOTFOUND.*gave up after 2 attempts/) });
    const slow = await send("http://slow.invalid/hook", { attempts: 2, dnsTimeoutMs: 100, resolve: scriptedResolver("hang") });
    expect(slow).toMatchObject({ delivered: false, attempts: 2, reason: expect.stringMatching(/no DNS answer for 'slow\.invalid' within 100 ms.*gave up after 2 attempts/) });
  });
});

describe("submit through the real server (default settings but one allowed range)", () => {
  let server: TestServer;
  let clip: Buffer;
  const jobs = () => new JobsClient(server.url);

  beforeAll(async () => {
    // The allowed range is one loopback address nothing listens on: an accepted job's one webhook attempt is refused.
    server = await startTestServer({ webhookAllowedNetworks: "127.0.0.2/32", webhookAttempts: "1" });
    clip = encodeWav(new Float32Array(8_000), 16_000);
  });
  afterAll(async () => {
    await server?.close();
  });

  it("every internal spelling, and a name resolving to loopback, is a 400 naming webhook_url", async () => {
    for (const url of [...INTERNAL_URLS, "http://localhost:8080/hook", "http://LOCALHOST/hook", "http://127.0.0.3:9/hook"]) {
      const response = await jobs().submitRaw(clip, { webhook_url: url, "metadata[attacker]": "chosen" });
      const body = (await response.json()) as ErrorBody;
      expect(response.status, `${url}: ${JSON.stringify(body)}`).toBe(400);
      expect(body.error, url).toMatchObject({ type: "invalid_request_error", param: "webhook_url", code: "invalid_webhook_url", message: expect.stringMatching(/is not a public address/) });
    }
    expect((await jobs().list()).body.data).toEqual([]);
  }, 60_000);

  it("an address in EARSHOT_WEBHOOK_ALLOWED_NETWORKS, and a name that does not resolve now, are accepted", async () => {
    expect(await jobs().submit(clip, { webhook_url: "http://127.0.0.2:9/hook" })).toMatchObject({ status: "queued", webhook_url: "http://127.0.0.2:9/hook" });
    // .invalid never resolves (RFC 6761): accepted, and checked again before every delivery.
    expect(await jobs().submit(clip, { webhook_url: "https://hooks.earshot.invalid/hook" })).toMatchObject({ status: "queued" });
  });
});
