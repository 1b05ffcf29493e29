// Webhook events for finished jobs, signed with the Standard Webhooks scheme (headers webhook-id,
// webhook-timestamp, webhook-signature, as OpenAI's own webhooks) and delivered with retries:
//   - a network error, a timeout, a 5xx or a 429 is retried after a delay doubled each time (Retry-After
//     honoured when it asks for longer), up to a number of attempts; any other answer (2xx done, 3xx/4xx given
//     up: a redirect is not followed, since it could lead outside the allowlist) ends the delivery;
//   - each attempt has its own deadline; the events waiting for delivery or for a retry are bounded, and
//     beyond that bound a new event is dropped with a warning rather than held without limit;
//   - the URL is checked against the allowlist again at every attempt, and its host resolved and checked again
//     (webhookTarget.ts: public addresses only unless the operator allows internal ones); the attempt connects to
//     exactly the addresses checked (TLS SNI and Host stay the URL's host name), so DNS rebinding gains nothing.
//     A refused target ends the delivery at once (logged with the reason), never retried.
// Every attempt carries the same webhook-id (the receiver's idempotency key) and a fresh timestamp and signature.
// Pending deliveries live in this process: a process that exits gives up its retries (logged at close).
import { randomBytes } from "node:crypto";
import type { LookupAddress } from "node:dns";
import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";

import { Webhook } from "standardwebhooks";

import { WebhookTargetRefused, WebhookTargets, type HostResolver } from "./webhookTarget.js";
import { webhookUrlProblem } from "./webhookUrl.js";

export { validateWebhookUrl, webhookUrlProblem } from "./webhookUrl.js";
export { loadWebhookSecret, type WebhookSecret } from "./webhookSecret.js";

export type WebhookEventType = "audio.job.succeeded" | "audio.job.failed" | "audio.job.cancelled";

export interface WebhookEvent {
  id: string;
  object: "event";
  type: WebhookEventType;
  created_at: number;
  data: { id: string; status: "succeeded" | "failed" | "cancelled"; metadata: Record<string, string> | null };
}

/** The event telling that `job` finished (succeeded, failed or was cancelled). */
export function jobEvent(job: { id: string; status: "succeeded" | "failed" | "cancelled"; metadata: Record<string, string> | null }): WebhookEvent {
  return {
    id: `evt_${randomBytes(12).toString("hex")}`,
    object: "event",
    type: `audio.job.${job.status}`,
    created_at: Math.floor(Date.now() / 1000),
    data: { id: job.id, status: job.status, metadata: job.metadata },
  };
}

/** A pino logger fits; the sender logs where events go and why deliveries fail, never the key. */
export interface WebhookLog {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
}

export interface WebhookSenderOptions {
  /** `whsec_` + base64 key. */
  secret: string;
  /** Hosts or origins deliveries may go to; empty: any (see webhookUrl.ts). Exact entries allow internal addresses. */
  allowlist: readonly string[];
  /** Non-public CIDR ranges deliveries may reach anyway (see webhookTarget.ts); default none. */
  allowedNetworks?: readonly string[];
  /** Deadline of the host name's lookup before each attempt (within the attempt's own); default 3 s. */
  dnsTimeoutMs?: number;
  /** Resolves the host name before each attempt; default the system's dns.lookup. */
  resolve?: HostResolver;
  /** Deliveries of one event, the first included. */
  attempts: number;
  /** Deadline of one attempt (connect, send, answer headers). */
  timeoutMs: number;
  /** Delay before the first retry; doubled for each next one, at most maxRetryDelayMs. */
  retryDelayMs: number;
  /** Longest wait between two attempts (default 10 minutes). */
  maxRetryDelayMs?: number;
  /** Events waiting for delivery or for a retry at once. */
  maxPending: number;
  log?: WebhookLog;
}

/** How one event's delivery ended. */
export interface DeliveryOutcome {
  eventId: string;
  url: string;
  delivered: boolean;
  attempts: number;
  /** The last answer's status, or undefined when the last attempt got none (network error, timeout). */
  status?: number;
  /** Why it was given up, when it was. */
  reason?: string;
}

const USER_AGENT = "earshot-webhooks/1";
/** Bytes of a receiver's answer read (then the rest discarded). */
const MAX_ANSWER_BYTES = 64 * 1024;

interface Pending {
  url: string;
  event: WebhookEvent;
  body: string;
  attempt: number;
  timer?: NodeJS.Timeout;
  abort?: AbortController;
  done: (outcome: DeliveryOutcome) => void;
}

export class WebhookSender {
  private readonly webhook: Webhook;
  private readonly targets: WebhookTargets;
  private readonly pending = new Set<Pending>();
  private closed = false;
  private readonly maxRetryDelayMs: number;

  constructor(private readonly options: WebhookSenderOptions) {
    this.webhook = new Webhook(options.secret);
    this.targets = new WebhookTargets({
      allowlist: options.allowlist,
      allowedNetworks: options.allowedNetworks ?? [],
      dnsTimeoutMs: options.dnsTimeoutMs ?? 3_000,
      resolve: options.resolve,
    });
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 600_000;
  }

  /** Events waiting for delivery or for a retry. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Starts delivering `event` to `url`. Resolves once it is delivered or given up (never rejects); callers
   * need not wait. An event refused at once (URL outside the allowlist, too many pending, sender closed), or whose
   * host is refused before the first attempt (an address not allowed), resolves with delivered false and attempts 0.
   */
  send(url: string, event: WebhookEvent): Promise<DeliveryOutcome> {
    const refuse = (reason: string): Promise<DeliveryOutcome> => {
      this.options.log?.warn({ event: event.id, type: event.type, job: event.data.id, url, reason }, "webhook not sent");
      return Promise.resolve({ eventId: event.id, url, delivered: false, attempts: 0, reason });
    };
    if (this.closed) return refuse("the server is shutting down");
    const problem = webhookUrlProblem(url, this.options.allowlist);
    if (problem !== undefined) return refuse(problem);
    if (this.pending.size >= this.options.maxPending) return refuse(`${this.options.maxPending} webhook events are already pending (EARSHOT_WEBHOOK_MAX_PENDING)`);
    return new Promise((resolve) => {
      const item: Pending = { url, event, body: JSON.stringify(event), attempt: 0, done: resolve };
      this.pending.add(item);
      void this.attempt(item);
    });
  }

  /** Gives up every pending delivery (aborting the attempts in flight) and refuses new ones. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.pending.size > 0) this.options.log?.warn({ pending: this.pending.size }, "webhook deliveries given up at shutdown");
    for (const item of [...this.pending]) {
      clearTimeout(item.timer);
      item.abort?.abort();
      this.finish(item, { delivered: false, reason: "the server shut down" });
    }
  }

  private async attempt(item: Pending): Promise<void> {
    item.timer = undefined;
    if (this.closed || !this.pending.has(item)) return;
    const problem = webhookUrlProblem(item.url, this.options.allowlist);
    if (problem !== undefined) return this.finish(item, { delivered: false, reason: problem });
    const abort = new AbortController();
    item.abort = abort;
    const timeout = setTimeout(() => abort.abort(new Error(`no answer within ${this.options.timeoutMs} ms`)), this.options.timeoutMs);
    let status: number | undefined;
    let retryAfterMs: number | undefined;
    let reason: string;
    try {
      const url = new URL(item.url);
      let addresses: readonly LookupAddress[];
      try {
        ({ addresses } = await this.targets.check(url, abort.signal));
      } catch (error) {
        // Not an attempt: nothing was sent, and the same answer would come next time.
        if (error instanceof WebhookTargetRefused) return this.finish(item, { delivered: false, reason: `${error.message} (not retried)` });
        item.attempt += 1;
        throw error;
      }
      item.attempt += 1;
      const now = new Date();
      const answer = await post(url, addresses, abort.signal, {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": item.event.id,
        "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
        "webhook-signature": this.webhook.sign(item.event.id, now, item.body),
      }, item.body);
      status = answer.status;
      retryAfterMs = parseRetryAfter(answer.retryAfter);
      if (status >= 200 && status < 300) return this.finish(item, { delivered: true, status });
      reason = `the receiver answered ${status}`;
      if (!(status >= 500 || status === 429)) return this.finish(item, { delivered: false, status, reason: `${reason} (not retried)` });
    } catch (error) {
      if (this.closed) return;
      reason = abort.signal.aborted ? String((abort.signal.reason as Error)?.message ?? "timed out") : describeError(error);
    } finally {
      clearTimeout(timeout);
      item.abort = undefined;
    }
    if (item.attempt >= this.options.attempts) return this.finish(item, { delivered: false, status, reason: `${reason}; gave up after ${item.attempt} attempts` });
    const backoff = Math.min(this.options.retryDelayMs * 2 ** (item.attempt - 1), this.maxRetryDelayMs);
    const delay = Math.min(Math.max(backoff, retryAfterMs ?? 0), this.maxRetryDelayMs);
    this.options.log?.info({ event: item.event.id, job: item.event.data.id, url: item.url, attempt: item.attempt, retryInMs: delay, reason }, "webhook delivery failed, will retry");
    item.timer = setTimeout(() => void this.attempt(item), delay);
    item.timer.unref();
  }

  private finish(item: Pending, outcome: Omit<DeliveryOutcome, "eventId" | "url" | "attempts">): void {
    if (!this.pending.delete(item)) return;
    const full: DeliveryOutcome = { eventId: item.event.id, url: item.url, attempts: item.attempt, ...outcome };
    const fields = { event: item.event.id, type: item.event.type, job: item.event.data.id, url: item.url, attempts: item.attempt, status: outcome.status };
    if (outcome.delivered) this.options.log?.info(fields, "webhook delivered");
    else this.options.log?.warn({ ...fields, reason: outcome.reason }, "webhook not delivered");
    item.done(full);
  }
}

/** Retry-After in ms (seconds or an HTTP date), undefined when absent or unreadable. */
function parseRetryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/**
 * POSTs `body` to `url`, connecting only to `addresses` (the checked ones; none for a literal IP, which is
 * connected to as is), on a connection of its own (no pooled socket to another address). Resolves with the
 * answer's status once at most MAX_ANSWER_BYTES of its body were read (the rest dropped with the connection).
 */
function post(url: URL, addresses: readonly LookupAddress[], signal: AbortSignal, headers: Record<string, string>, body: string): Promise<{ status: number; retryAfter: string | null }> {
  return new Promise((resolve, reject) => {
    const transport = url.protocol === "https:" ? https : http;
    const request = transport.request(
      url,
      {
        method: "POST",
        headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
        agent: false,
        signal,
        ...(addresses.length > 0 ? { lookup: checkedLookup(addresses) } : {}),
      },
      (response) => {
        const status = response.statusCode ?? 0;
        const retryAfter = response.headers["retry-after"] ?? null;
        let read = 0;
        const done = () => resolve({ status, retryAfter });
        response.on("data", (chunk: Buffer) => {
          read += chunk.byteLength;
          if (read >= MAX_ANSWER_BYTES) response.destroy();
        });
        // The answer's status is all that counts: an error reading the rest changes nothing.
        response.on("error", done);
        response.on("end", done);
        response.on("close", done);
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

/** A socket lookup that answers only with the addresses the target check accepted (of the family asked, if any). */
function checkedLookup(addresses: readonly LookupAddress[]): LookupFunction {
  return (hostname, options, callback) => {
    const family = options.family === 4 || options.family === "IPv4" ? 4 : options.family === 6 || options.family === "IPv6" ? 6 : undefined;
    const candidates = family === undefined ? addresses : addresses.filter((address) => address.family === family);
    const first = candidates[0];
    if (first === undefined) {
      callback(Object.assign(new Error(`no checked IPv${family} address for '${hostname}'`), { code: "ENOTFOUND" }), "", undefined);
      return;
    }
    if (options.all) callback(null, [...candidates]);
    else callback(null, first.address, first.family);
  };
}

function describeError(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  return code !== undefined && message !== undefined && !message.includes(code) ? `${code}: ${message}` : (message ?? code ?? String(error));
}
