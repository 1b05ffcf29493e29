// Settings table, group "Wyoming (Home Assistant)": the Wyoming speech-to-text listener of `earshot serve`.
import net from "node:net";

import { z } from "zod";

import { yesNo } from "../schemas.js";
import type { Setting } from "../setting.js";

/** `127.0.0.1:10300`, `[::1]:10300`, `0.0.0.0:10300` (port 0: any free port). */
const listenAddress = z
  .string()
  .trim()
  .transform((value, ctx) => {
    const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(value);
    const host = match?.[1];
    const port = Number(match?.[2]);
    if (!host || net.isIP(host) === 0 || !(port >= 0 && port <= 65_535)) {
      ctx.addIssue({ code: "custom", message: "expected an IP address and a port, like 127.0.0.1:10300" });
      return z.NEVER;
    }
    return { host, port };
  });

export const wyomingSettings = {
  wyoming: {
    env: "EARSHOT_WYOMING",
    flag: "--wyoming <address:port>",
    commands: ["serve"],
    schema: listenAddress.optional(),
    doc: "serve Home Assistant's Wyoming speech-to-text protocol on this TCP address and port (e.g. 127.0.0.1:10300)",
    note:
      "Wyoming has no authentication: whoever reaches the port can transcribe. Keep it on loopback or a trusted LAN " +
      "address (see [Home Assistant](home-assistant.md#exposing-it-safely)). Its connections are realtime sessions: " +
      "they count against `EARSHOT_REALTIME_MAX_SESSIONS` and keep the realtime limits.",
    defaultText: "unset: off",
  },
  wyomingZeroconf: {
    env: "EARSHOT_WYOMING_ZEROCONF",
    flag: "--wyoming-zeroconf",
    commands: ["serve"],
    schema: yesNo.default(false),
    doc: "announce the Wyoming listener over mDNS (`_wyoming._tcp`) so Home Assistant discovers it",
    note: "Needs UDP 5353 multicast on the LAN; announces the listener's address (every interface's IPv4 address when it listens on all).",
  },
  wyomingDelay: {
    env: "EARSHOT_WYOMING_DELAY",
    flag: "--wyoming-delay <level>",
    commands: ["serve"],
    schema: z.enum(["minimal", "low", "medium", "high", "xhigh"]).default("low"),
    doc: "how soon a Wyoming connection's `transcript-chunk` events come while the user speaks (the realtime `delay` levels)",
    note: "See [live deltas](realtime.md#live-deltas) for what each level means in milliseconds and passes.",
  },
} as const satisfies Record<string, Setting>;
