// The key webhooks are signed with (Standard Webhooks: `whsec_` + base64). EARSHOT_WEBHOOK_SECRET when set;
// else a random key generated once and kept in the data dir (`webhook-secret`, mode 0600), so restarts keep it
// and the operator can read it there to verify deliveries. The key itself is never logged, only where it is.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

import { makeDirectory } from "../makeDirectory.js";

/** File name of the generated key inside the data dir. */
export const WEBHOOK_SECRET_FILE = "webhook-secret";

const SECRET_PATTERN = /^whsec_[A-Za-z0-9+/]+={0,2}$/;

export interface WebhookSecret {
  /** `whsec_` + base64 key, as standardwebhooks' Webhook takes it. */
  secret: string;
  /** Where it came from: the environment, or the file it is kept in. */
  source: { kind: "config" } | { kind: "file"; path: string; created: boolean };
}

/** A new random key (32 bytes), `whsec_` + base64. */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}

/** The configured key (`whsec_` added when given bare), else the one kept in `dataDir` (made on first use). */
export function loadWebhookSecret(options: { webhookSecret?: string | undefined; dataDir: string }): WebhookSecret {
  if (options.webhookSecret !== undefined) {
    const secret = options.webhookSecret.startsWith("whsec_") ? options.webhookSecret : `whsec_${options.webhookSecret}`;
    return { secret, source: { kind: "config" } };
  }
  const file = path.join(options.dataDir, WEBHOOK_SECRET_FILE);
  const existing = readSecretFile(file);
  if (existing !== undefined) return { secret: existing, source: { kind: "file", path: file, created: false } };
  const created = writeSecretFile(file, generateWebhookSecret());
  return { secret: created.secret, source: { kind: "file", path: file, created: created.created } };
}

/** The key in `file`, undefined when there is none; throws when the file holds something else. */
export function readSecretFile(file: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8").trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  if (!SECRET_PATTERN.test(text)) throw new Error(`${file} does not hold a webhook secret (whsec_ + base64): fix or remove it`);
  return text;
}

/**
 * Writes `secret` to `file` unless one is already there (another process sharing the data dir may have made it
 * a moment ago): written to a temp file, then linked into place, so no reader ever sees half a key. With
 * `replace`, an existing file is replaced (renamed over). Returns the key the file holds afterwards.
 */
export function writeSecretFile(file: string, secret: string, replace = false): { secret: string; created: boolean } {
  makeDirectory(path.dirname(file));
  const temp = `${file}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`;
  fs.writeFileSync(temp, `${secret}\n`, { mode: 0o600, flag: "wx" });
  try {
    if (replace) {
      fs.renameSync(temp, file);
      return { secret, created: true };
    }
    try {
      fs.linkSync(temp, file);
      return { secret, created: true };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      return { secret: readSecretFile(file)!, created: false };
    }
  } finally {
    fs.rmSync(temp, { force: true });
  }
}
