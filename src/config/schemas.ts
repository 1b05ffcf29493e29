// The value shapes settings share: raw strings (flags, variables, .env lines) → typed values.
import net from "node:net";

import { z } from "zod";

/** A comma-separated list; blanks around items and empty items dropped. */
export const list = z
  .string()
  .transform((value) => value.split(",").map((item) => item.trim()).filter(Boolean));

export const positiveInt = z.coerce.number().int().positive();

/** A switch: 1/0, true/false, yes/no. */
export const yesNo = z.enum(["1", "0", "true", "false", "yes", "no"]).transform((value) => ["1", "true", "yes"].includes(value));

/** An IP address or CIDR range written plainly (`10.0.0.0/8`, `fd00::/8`, `127.0.0.1`, `[::1]`). */
export function isNetworkEntry(entry: string): boolean {
  const match = /^\[?([^\]/]+)\]?(?:\/(\d{1,3}))?$/.exec(entry);
  const family = match ? net.isIP(match[1]!) : 0;
  return family !== 0 && (match![2] === undefined || Number(match![2]) <= (family === 4 ? 32 : 128));
}
