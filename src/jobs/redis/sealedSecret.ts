// The webhook key as Redis keeps it: sealed with AES-256-GCM under a key derived (HKDF-SHA256) from EARSHOT_SECRET_KEY,
// which every process sharing the Redis is given. Whoever reads Redis (no password, a leaked dump, a shared instance)
// gets ciphertext: no webhook can be forged with it. The Redis key name is bound in as associated data, so a sealed
// value copied to another key does not open. Format: "sealed:v1:" + base64url(iv (12) | tag (16) | ciphertext).
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

const PREFIX = "sealed:v1:";
/** HKDF's info: this key is for nothing else (EARSHOT_SECRET_KEY also signs realtime client secrets). */
const INFO = "earshot webhook secret at rest v1";
const SALT = "earshot";

function sealingKey(secretKey: string): Buffer {
  return Buffer.from(hkdfSync("sha256", secretKey, SALT, INFO, 32));
}

/** `secret` sealed for the Redis key `where`. */
export function sealWebhookSecret(secret: string, secretKey: string, where: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", sealingKey(secretKey), iv);
  cipher.setAAD(Buffer.from(where));
  const sealed = Buffer.concat([cipher.update(secret, "utf8"), cipher.final()]);
  return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString("base64url");
}

/** The secret `sealed` holds; throws when it is not sealed, or was sealed with another key or for another place. */
export function unsealWebhookSecret(sealed: string, secretKey: string, where: string): string {
  if (!sealed.startsWith(PREFIX)) throw new Error(`the webhook key in Redis (${where}) is not sealed: delete it, and every process stores a new one`);
  const bytes = Buffer.from(sealed.slice(PREFIX.length), "base64url");
  try {
    const decipher = createDecipheriv("aes-256-gcm", sealingKey(secretKey), bytes.subarray(0, 12));
    decipher.setAAD(Buffer.from(where));
    decipher.setAuthTag(bytes.subarray(12, 28));
    return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString("utf8");
  } catch {
    throw new Error(
      `the webhook key in Redis (${where}) was sealed with another EARSHOT_SECRET_KEY: give every process that shares this Redis the same EARSHOT_SECRET_KEY`,
    );
  }
}
