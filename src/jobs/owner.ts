// Who a job belongs to: the API key that created it, as a hash (the key itself is never stored). With no API keys
// configured every request is the same owner.
import { createHash } from "node:crypto";

/** The owner of the jobs made without a key (a server with no API keys configured). */
export const OPEN_OWNER = "open";

/** The owner id of requests made with `apiKey` (undefined: no keys configured). */
export function jobOwner(apiKey: string | undefined): string {
  if (apiKey === undefined) return OPEN_OWNER;
  return `key_${createHash("sha256").update(apiKey).digest("hex").slice(0, 32)}`;
}
