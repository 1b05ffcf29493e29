// Ephemeral client secrets ("ek_…"): minted over HTTP with a real API key, good only for opening a realtime
// socket until they expire, carrying the session configuration they were minted with. Kept in memory: a
// restart forgets them, as it should for secrets that live minutes.
import { randomBytes } from "node:crypto";

import type { TranscriptionSessionConfig } from "./sessionConfig.js";

export const DEFAULT_SECRET_TTL_SECONDS = 600;
export const MIN_SECRET_TTL_SECONDS = 10;
export const MAX_SECRET_TTL_SECONDS = 7200;
export const CLIENT_SECRET_PREFIX = "ek_";

export interface ClientSecret {
  value: string;
  /** Unix seconds. */
  expiresAt: number;
  sessionId: string;
  config: TranscriptionSessionConfig;
}

export type RedeemResult = { ok: true; secret: ClientSecret } | { ok: false; reason: "unknown" | "expired" };

export class ClientSecretStore {
  private readonly secrets = new Map<string, ClientSecret>();

  constructor(private readonly now: () => number = () => Date.now() / 1000) {}

  /** Mints a secret valid for `ttlSeconds` (caller validates the range). */
  mint(config: TranscriptionSessionConfig, sessionId: string, ttlSeconds: number): ClientSecret {
    this.prune();
    const secret: ClientSecret = {
      value: CLIENT_SECRET_PREFIX + randomBytes(24).toString("base64url"),
      expiresAt: Math.floor(this.now()) + ttlSeconds,
      sessionId,
      config,
    };
    this.secrets.set(secret.value, secret);
    return secret;
  }

  /** Looks a presented secret up; an expired one is refused (and forgotten). */
  redeem(value: string): RedeemResult {
    const secret = this.secrets.get(value);
    if (!secret) return { ok: false, reason: "unknown" };
    if (secret.expiresAt <= this.now()) {
      this.secrets.delete(value);
      return { ok: false, reason: "expired" };
    }
    return { ok: true, secret };
  }

  get size(): number {
    return this.secrets.size;
  }

  private prune(): void {
    const now = this.now();
    for (const [value, secret] of this.secrets) if (secret.expiresAt <= now) this.secrets.delete(value);
  }
}
