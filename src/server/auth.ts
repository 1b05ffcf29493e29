// Bearer API keys: required on /v1 and /api routes when keys are configured.
import { timingSafeEqual } from "node:crypto";

import type { FastifyRequest } from "fastify";

import { ApiError } from "./apiErrors.js";

/** Constant-time comparison of two keys. */
export function sameKey(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Throws a 401 ApiError unless the request carries one of `keys` (no keys: open). */
export function checkApiKey(request: FastifyRequest, keys: readonly string[]): void {
  if (keys.length === 0) return;
  const header = request.headers.authorization;
  if (!header) {
    throw ApiError.unauthorized("You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).");
  }
  const match = /^Bearer\s+(.+)$/i.exec(header);
  const key = match?.[1]?.trim() ?? "";
  if (!keys.some((k) => sameKey(k, key))) {
    const shown = key.length > 8 ? `${key.slice(0, 3)}****${key.slice(-4)}` : "****";
    throw ApiError.unauthorized(`Incorrect API key provided: ${shown}.`);
  }
}
