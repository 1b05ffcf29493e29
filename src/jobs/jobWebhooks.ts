// Webhooks for a process's jobs: every job that finishes in this process (succeeded, failed or cancelled, see
// JobBackend.onSettled) and has a webhook_url gets its event, signed and delivered by a WebhookSender.
//
// The key: EARSHOT_WEBHOOK_SECRET, else the one generated in the data dir. On Redis, where jobs finish in
// whichever process ran them, every process must sign with the same key: without EARSHOT_WEBHOOK_SECRET the first
// process stores its generated key in Redis and every other one takes that one (and writes it to its own data dir,
// where the operator reads it). Jobs only finish while Redis is reachable, so an event waits for that key.
import type { ServerConfig } from "../config.js";
import { RedisJobBackend } from "./redis/RedisJobBackend.js";
import { isFinished, type JobBackend, type JobRecord } from "./types.js";
import { loadWebhookSecret, writeSecretFile } from "./webhookSecret.js";
import { jobEvent, WebhookSender, type WebhookLog } from "./webhooks.js";

export type JobWebhookConfig = Pick<
  ServerConfig,
  | "dataDir"
  | "webhookSecret"
  | "webhookAllowlist"
  | "webhookAllowedNetworks"
  | "webhookDnsTimeoutSeconds"
  | "webhookAttempts"
  | "webhookTimeoutSeconds"
  | "webhookRetryDelaySeconds"
  | "webhookMaxPending"
>;

export interface JobWebhooks {
  sender: WebhookSender;
  /** Where the operator reads the key: the file, or "EARSHOT_WEBHOOK_SECRET". */
  keyLocation: string;
  /** Gives up pending deliveries. */
  close(): void;
}

/** How often a process that could not read the shared key from Redis tries again. */
const SHARE_RETRY_MS = 5_000;

/** Sends the webhook of every job `backend` settles in this process. */
export function startJobWebhooks(backend: JobBackend, config: JobWebhookConfig, log?: WebhookLog): JobWebhooks {
  const local = loadWebhookSecret({ webhookSecret: config.webhookSecret, dataDir: config.dataDir });
  const keyLocation = local.source.kind === "file" ? local.source.path : "EARSHOT_WEBHOOK_SECRET";
  if (local.source.kind === "file") {
    log?.info({ file: local.source.path, created: local.source.created }, "webhooks are signed with the key in this file (set EARSHOT_WEBHOOK_SECRET to choose it)");
  }
  const senderOptions = {
    allowlist: config.webhookAllowlist,
    allowedNetworks: config.webhookAllowedNetworks,
    dnsTimeoutMs: config.webhookDnsTimeoutSeconds * 1000,
    attempts: config.webhookAttempts,
    timeoutMs: config.webhookTimeoutSeconds * 1000,
    retryDelayMs: config.webhookRetryDelaySeconds * 1000,
    maxPending: config.webhookMaxPending,
    ...(log ? { log } : {}),
  };
  let sender = new WebhookSender({ secret: local.secret, ...senderOptions });
  let closed = false;

  // On Redis without a configured key: the key every process shares, before the first event goes out.
  let keyReady: Promise<void> = Promise.resolve();
  if (backend instanceof RedisJobBackend && local.source.kind === "file") {
    const file = local.source.path;
    keyReady = (async () => {
      for (;;) {
        try {
          const shared = await backend.sharedWebhookSecret(local.secret);
          if (shared !== local.secret) {
            writeSecretFile(file, shared, true);
            log?.info({ file }, "webhook key: the one shared by the processes on this Redis, written to this file");
            sender = new WebhookSender({ secret: shared, ...senderOptions });
          }
          return;
        } catch (error) {
          if (closed) return;
          log?.warn({ error: (error as Error).message }, "could not read the shared webhook key from Redis yet: retrying");
          await new Promise((resolve) => setTimeout(resolve, SHARE_RETRY_MS).unref());
        }
      }
    })();
  }

  backend.onSettled((job: JobRecord) => {
    if (job.webhookUrl === null || !isFinished(job.status)) return;
    const url = job.webhookUrl;
    const event = jobEvent({ id: job.id, status: job.status, metadata: job.metadata });
    void keyReady.then(() => sender.send(url, event));
  });

  return {
    get sender() {
      return sender;
    },
    keyLocation,
    close() {
      closed = true;
      sender.close();
    },
  };
}
