// Bearer API keys: required on /v1 and /api routes when keys are configured.
import { timingSafeEqual } from "node:crypto";

import type { FastifyRequest } from "fastify";

import { ApiError } from "../transcription/apiErrors.js";

/** Constant-time comparison of two keys. */
function sameKey(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer\s+(.+)$/i.exec(header ?? "")?.[1]?.trim() || undefined;
}

/** Whether `token` is one of the configured keys. */
export function isApiKey(token: string, keys: readonly string[]): boolean {
  return keys.some((key) => sameKey(key, token));
}

/** Throws a 401 ApiError unless the request carries one of `keys` (no keys: open). */
export function checkApiKey(request: FastifyRequest, keys: readonly string[]): void {
  if (keys.length === 0) return;
  const header = request.headers.authorization;
  if (!header) {
    throw ApiError.unauthorized("You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).");
  }
  const key = bearerToken(header) ?? "";
  if (!isApiKey(key, keys)) {
    const shown = key.length > 8 ? `${key.slice(0, 3)}****${key.slice(-4)}` : "****";
    throw ApiError.unauthorized(`Incorrect API key provided: ${shown}.`);
  }
}
