// Settings table, group "TLS": HTTPS and WSS served by Earshot itself.
import { z } from "zod";

import { yesNo } from "../schemas.js";
import type { Setting } from "../setting.js";

export const tlsSettings = {
  tlsCert: {
    env: "EARSHOT_TLS_CERT",
    flag: "--tls-cert <file>",
    commands: ["serve", "jobs"],
    flagOn: ["serve"],
    schema: z.string().min(1).optional(),
    doc: "serve HTTPS and WSS with this PEM certificate (and EARSHOT_TLS_KEY)",
    note: "`earshot jobs` uses `https` for its default server when it is set.",
    defaultText: "unset: plain HTTP",
  },
  tlsKey: {
    env: "EARSHOT_TLS_KEY",
    flag: "--tls-key <file>",
    commands: ["serve"],
    schema: z.string().min(1).optional(),
    doc: "the certificate's PEM private key",
  },
  tlsSelfSigned: {
    env: "EARSHOT_TLS_SELF_SIGNED",
    flag: "--tls-self-signed",
    commands: ["serve", "jobs"],
    flagOn: ["serve"],
    schema: yesNo.default(false),
    doc: "serve HTTPS and WSS with a self-signed certificate generated for this machine (when no certificate is given)",
    note:
      "Kept in `tls/` beside the models directory (`~/.cache/earshot/tls/` by default); the startup line names the file " +
      "for clients (`NODE_EXTRA_CA_CERTS=<file>`). `earshot jobs` uses `https` for its default server when it is on.",
  },
} as const satisfies Record<string, Setting>;
