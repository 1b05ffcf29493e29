// The webhook key every process sharing a Redis signs with, when none is configured (RedisJobBackend's
// sharedWebhookSecret): stored once, sealed (sealedSecret.ts), read by every later process.
import type { Redis } from "ioredis";

import type { JobsLog } from "./connections.js";
import { sealWebhookSecret, unsealWebhookSecret } from "./sealedSecret.js";

export interface SharedSecretContext {
  api: Redis;
  /** The Redis key it is stored under (RedisKeys.webhookSecret). */
  key: string;
  /** EARSHOT_SECRET_KEY: what it is sealed with. */
  secretKey: string | undefined;
  log?: JobsLog | undefined;
  /** Runs an API-side operation (RedisApiCalls.call: 503 when Redis is away). */
  call<T>(operation: () => Promise<T>): Promise<T>;
}

/**
 * The first process to ask stores its own (`local`, e.g. generated in its data dir) in Redis; every later one gets
 * that one. It is stored sealed (AES-256-GCM, the key derived from EARSHOT_SECRET_KEY, see sealedSecret.ts): whoever
 * reads Redis cannot sign a webhook with it. A key an older Earshot stored in the clear is sealed in its place
 * (receivers verify with it already). Throws when Redis cannot be reached, without EARSHOT_SECRET_KEY, and when the
 * stored key was sealed with another EARSHOT_SECRET_KEY.
 */
export async function sharedWebhookSecret(context: SharedSecretContext, local: string): Promise<string> {
  const { api, key, secretKey, log } = context;
  if (secretKey === undefined) throw new Error("no webhook key is shared through Redis without EARSHOT_SECRET_KEY: set it (the same on every process), or EARSHOT_WEBHOOK_SECRET");
  const stored = await context.call(async () => {
    await api.set(key, sealWebhookSecret(local, secretKey, key), "NX");
    const value = await api.get(key);
    if (value === null || !value.startsWith("whsec_")) return value;
    // Stored in the clear by an older Earshot: sealed in its place, unless another process did so meanwhile.
    const sealed = sealWebhookSecret(value, secretKey, key);
    await api.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) end return 1", 1, key, value, sealed);
    log?.warn({ key }, "the shared webhook key was stored readable in Redis (an older Earshot): now sealed; consider a new key (EARSHOT_WEBHOOK_SECRET or delete it in Redis and every data dir)");
    return api.get(key);
  });
  if (stored === null) return local;
  return unsealWebhookSecret(stored, secretKey, key);
}
