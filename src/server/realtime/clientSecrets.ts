// Ephemeral client secrets ("ek_…"): minted over HTTP with a real API key, good only for opening a realtime
// socket until they expire, carrying the session configuration they were minted with. Self-contained and signed:
// `ek_<payload>.<signature>`, the payload the base64url of the deflated JSON {v, sid, exp, cfg} (session id, expiry
// in Unix seconds, session settings) and the signature the base64url HMAC-SHA256 of "ek_<payload>". Nothing is kept
// on the server: any replica that shares the key (EARSHOT_SECRET_KEY) accepts a secret another one minted. Without
// a configured key each process signs with a random key of its own, so its secrets open its own sockets only (and
// a restart forgets them).
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { deflateRawSync, inflateRawSync } from "node:zlib";

import type { TranscriptionSessionConfig } from "../../api/realtimeSession.js";
import { restoreSessionConfig } from "../../api/realtimeSessionRestore.js";

export const DEFAULT_SECRET_TTL_SECONDS = 600;
export const MIN_SECRET_TTL_SECONDS = 10;
export const MAX_SECRET_TTL_SECONDS = 7200;
export const CLIENT_SECRET_PREFIX = "ek_";
/** A configured signing key must hold at least this many bytes (UTF-8). */
export const MIN_SECRET_KEY_BYTES = 32;

const PAYLOAD_VERSION = 1;
/** Bytes of a signature: HMAC-SHA256. */
const SIGNATURE_BYTES = 32;
/** A payload never inflates beyond this (it was deflated by a holder of the key; a bound all the same). */
const MAX_PAYLOAD_BYTES = 256 * 1024;
/**
 * The longest secret minted: it travels in a request header (Authorization, or the browser's Sec-WebSocket-Protocol),
 * and Node refuses requests whose headers pass 16 KB altogether. Settings too large for it (a long prompt or many
 * keywords) are refused at mint time; a client sets them with session.update once connected.
 */
export const MAX_SECRET_LENGTH = 8 * 1024;

/** The session settings do not fit in a client secret (see {@link MAX_SECRET_LENGTH}). */
export class ClientSecretTooLargeError extends Error {
  override readonly name = "ClientSecretTooLargeError";

  constructor(detail: string) {
    super(`${detail} Mint the secret without the long prompt or keywords, and set them with session.update once connected.`);
  }
}
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export interface ClientSecret {
  value: string;
  /** Unix seconds. */
  expiresAt: number;
  sessionId: string;
  config: TranscriptionSessionConfig;
  /** The caller id of the API key that minted it (see auth.ts): its sessions count against that key's share. */
  owner: string;
}

/**
 * `unknown`: not a secret signed with this key (altered, cut short, foreign); `expired`; `invalid`: signed with this
 * key but its session settings do not validate here (minted by a version or replica with another schema).
 */
export type RedeemResult = { ok: true; secret: ClientSecret } | { ok: false; reason: "unknown" | "expired" | "invalid" };

export interface ClientSecretStoreOptions {
  /** The shared signing key (at least 32 bytes); default a random key of this process's own. */
  key?: string | undefined;
  /** Unix seconds (tests move time). */
  now?: (() => number) | undefined;
}

interface Payload {
  v: number;
  sid: string;
  exp: number;
  cfg: TranscriptionSessionConfig;
  /** The minting key's caller id. */
  own: string;
}

export class ClientSecretStore {
  private readonly key: Buffer;
  private readonly now: () => number;

  constructor(options: ClientSecretStoreOptions = {}) {
    if (options.key !== undefined && Buffer.byteLength(options.key) < MIN_SECRET_KEY_BYTES) {
      throw new RangeError(`the client secret signing key must be at least ${MIN_SECRET_KEY_BYTES} bytes`);
    }
    this.key = options.key !== undefined ? Buffer.from(options.key) : randomBytes(SIGNATURE_BYTES);
    this.now = options.now ?? (() => Date.now() / 1000);
  }

  /** Mints a secret valid for `ttlSeconds` (caller validates the range); throws ClientSecretTooLargeError. */
  mint(config: TranscriptionSessionConfig, sessionId: string, ttlSeconds: number, owner: string): ClientSecret {
    const expiresAt = Math.floor(this.now()) + ttlSeconds;
    const payload: Payload = { v: PAYLOAD_VERSION, sid: sessionId, exp: expiresAt, cfg: config, own: owner };
    const json = Buffer.from(JSON.stringify(payload));
    // Redeeming inflates at most MAX_PAYLOAD_BYTES (a repetitive prompt deflates to little: checked apart).
    if (json.length > MAX_PAYLOAD_BYTES) throw new ClientSecretTooLargeError(`These session settings take ${json.length} bytes; a client secret holds at most ${MAX_PAYLOAD_BYTES}.`);
    const body = CLIENT_SECRET_PREFIX + deflateRawSync(json).toString("base64url");
    const value = `${body}.${this.sign(body).toString("base64url")}`;
    if (value.length > MAX_SECRET_LENGTH) {
      throw new ClientSecretTooLargeError(`These session settings make a client secret of ${value.length} characters; at most ${MAX_SECRET_LENGTH} fit in a request header.`);
    }
    return { value, expiresAt, sessionId, config: structuredClone(config), owner };
  }

  /** Verifies a presented secret (signature, then expiry): anything altered, cut short or not ours is "unknown". */
  redeem(value: string): RedeemResult {
    const unknown: RedeemResult = { ok: false, reason: "unknown" };
    if (!value.startsWith(CLIENT_SECRET_PREFIX)) return unknown;
    const dot = value.lastIndexOf(".");
    if (dot < 0) return unknown;
    const body = value.slice(0, dot);
    const signature = value.slice(dot + 1);
    const encoded = body.slice(CLIENT_SECRET_PREFIX.length);
    if (!BASE64URL.test(encoded) || !BASE64URL.test(signature)) return unknown;
    const given = Buffer.from(signature, "base64url");
    // Exactly the canonical encoding of 32 bytes: no other spelling of the same signature is accepted.
    if (given.length !== SIGNATURE_BYTES || given.toString("base64url") !== signature) return unknown;
    if (!timingSafeEqual(given, this.sign(body))) return unknown;
    let payload: Payload;
    try {
      payload = JSON.parse(inflateRawSync(Buffer.from(encoded, "base64url"), { maxOutputLength: MAX_PAYLOAD_BYTES }).toString("utf8")) as Payload;
    } catch {
      return unknown;
    }
    if (
      typeof payload !== "object" || payload === null || payload.v !== PAYLOAD_VERSION || typeof payload.sid !== "string" ||
      typeof payload.exp !== "number" || typeof payload.cfg !== "object" || payload.cfg === null || typeof payload.own !== "string"
    ) {
      return unknown;
    }
    if (payload.exp <= this.now()) return { ok: false, reason: "expired" };
    // Checked again as a client's settings would be: what another version or replica signed may not hold here.
    let config: TranscriptionSessionConfig;
    try {
      config = restoreSessionConfig(payload.cfg);
    } catch {
      return { ok: false, reason: "invalid" };
    }
    return { ok: true, secret: { value, expiresAt: payload.exp, sessionId: payload.sid, config, owner: payload.own } };
  }

  private sign(body: string): Buffer {
    return createHmac("sha256", this.key).update(body).digest();
  }
}
