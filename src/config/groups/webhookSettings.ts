// Settings table, group "Webhooks": the signed POST a job sends when it finishes.
import { z } from "zod";

import { isNetworkEntry, list } from "../schemas.js";
import type { Setting } from "../setting.js";

export const webhookSettings = {
  webhookSecret: {
    env: "EARSHOT_WEBHOOK_SECRET",
    flag: "--webhook-secret <key>",
    commands: ["serve", "worker"],
    schema: z
      .string()
      .regex(/^(whsec_)?[A-Za-z0-9+/]+={0,2}$/, "must be whsec_ followed by a base64 key")
      .refine((key) => Buffer.from(key.replace(/^whsec_/, ""), "base64").length >= 24, "the key must be at least 24 bytes")
      .optional(),
    doc: "signs webhooks (Standard Webhooks): whsec_ followed by a base64 key of at least 24 bytes",
    note:
      "E.g. `echo \"whsec_$(openssl rand -base64 32)\"`. On Redis every process must sign with the same key: set it everywhere, " +
      "or leave it unset and set the same `EARSHOT_SECRET_KEY` everywhere (the generated key is then kept in Redis, sealed with it).",
    defaultText: "a random key made at the first start, kept in `webhook-secret` in the data dir (mode 0600)",
    secret: "value",
  },
  webhookAllowlist: {
    env: "EARSHOT_WEBHOOK_ALLOWLIST",
    flag: "--webhook-allowlist <list>",
    commands: ["serve", "worker"],
    schema: list.default([]),
    doc: "hosts (example.com, *.example.com) or origins (https://example.com:8443) webhooks may go to, comma-separated",
    note:
      "A `webhook_url` elsewhere is refused at submit with 400 `invalid_webhook_url`. An entry naming one host or origin also " +
      "allows the internal addresses that host has; a `*.` wildcard does not.",
    defaultText: "none: any host with a public address",
  },
  webhookAllowedNetworks: {
    env: "EARSHOT_WEBHOOK_ALLOWED_NETWORKS",
    flag: "--webhook-allowed-networks <list>",
    commands: ["serve", "worker"],
    schema: list
      .refine((entries) => entries.every(isNetworkEntry), "must be comma-separated IP addresses or CIDR ranges (e.g. 10.0.0.0/8,fd00::/8)")
      .default([]),
    doc: "non-public address ranges any webhook host may resolve to, comma-separated (CIDR ranges or addresses: 10.0.0.0/8,fd00::/8)",
    note: "Otherwise loopback, private, link-local (cloud metadata), unique-local, CGNAT and other reserved addresses are refused, in any spelling, at submit and again before every delivery.",
    defaultText: "none: public addresses only",
  },
  webhookDnsTimeoutSeconds: {
    env: "EARSHOT_WEBHOOK_DNS_TIMEOUT_SECONDS",
    flag: "--webhook-dns-timeout-seconds <s>",
    commands: ["serve", "worker"],
    schema: z.coerce.number().positive().max(60).default(3),
    doc: "a webhook host name's DNS lookup (at submit and before each delivery) fails after this long",
  },
  webhookAttempts: {
    env: "EARSHOT_WEBHOOK_ATTEMPTS",
    flag: "--webhook-attempts <n>",
    commands: ["serve", "worker"],
    schema: z.coerce.number().int().min(1).max(50).default(8),
    doc: "deliveries of one webhook event, the first included, before it is given up",
    note: "A network error, a timeout, a 5xx or a 429 is retried; any other 4xx and any redirect (not followed) end it.",
  },
  webhookTimeoutSeconds: {
    env: "EARSHOT_WEBHOOK_TIMEOUT_SECONDS",
    flag: "--webhook-timeout-seconds <s>",
    commands: ["serve", "worker"],
    schema: z.coerce.number().positive().max(600).default(10),
    doc: "each webhook attempt is aborted after this long",
  },
  webhookRetryDelaySeconds: {
    env: "EARSHOT_WEBHOOK_RETRY_DELAY_SECONDS",
    flag: "--webhook-retry-delay-seconds <s>",
    commands: ["serve", "worker"],
    schema: z.coerce.number().positive().max(3600).default(1),
    doc: "wait before the first webhook retry, doubled for each next one (at most 10 minutes)",
    note: "Longer when the receiver's `Retry-After` asks for it.",
  },
  webhookMaxPending: {
    env: "EARSHOT_WEBHOOK_MAX_PENDING",
    flag: "--webhook-max-pending <n>",
    commands: ["serve", "worker"],
    schema: z.coerce.number().int().positive().max(1_000_000).default(1000),
    doc: "webhook events waiting for delivery or retry in one process; beyond it new ones are dropped (and logged)",
    note: "Retries live in the process that finished the job: one that exits gives up its pending retries (logged).",
  },
} as const satisfies Record<string, Setting>;
