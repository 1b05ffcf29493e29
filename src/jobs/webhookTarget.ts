// Where a webhook URL's host may take a delivery: the address check against server-side request forgery.
// A literal IP must be public (webhookAddress.ts); a host name is resolved (all its addresses, with a deadline)
// and refused when ANY address is not public, so that a name pointing at 127.0.0.1 or 169.254.169.254 is no way
// into this server's network. The operator lets internal targets through in two ways:
//   - an EARSHOT_WEBHOOK_ALLOWLIST entry naming the host exactly (`hooks.internal`, `10.0.0.5`, `[::1]`) or its
//     origin (`http://hooks.internal:8080`) vouches for that host: any address it has is allowed (a wildcard
//     `*.example.com` does not: it names no host, and a subdomain may point anywhere);
//   - EARSHOT_WEBHOOK_ALLOWED_NETWORKS lists CIDR ranges (`10.0.0.0/8`, `fd00::/8`, `127.0.0.1/32`) that are
//     allowed although not public, for any host (the allowlist, when set, still restricts hosts).
// The submit route checks once (webhookUrl.ts names the syntax and allowlist rules); the sender checks again at
// every attempt and connects to exactly the addresses it checked, so a name that resolves elsewhere later (DNS
// rebinding) gains nothing.
import { lookup } from "node:dns/promises";
import type { LookupAddress } from "node:dns";
import net from "node:net";

import type { ServerConfig } from "../config.js";
import { ApiError } from "../api/errors.js";
import { inNetwork, nonPublicRange, parseNetwork, type Network } from "./webhookAddress.js";
import { allowlistMatches } from "./webhookUrl.js";

/** All the addresses of a host name (as dns.lookup with `all`); a test may give its own. */
export type HostResolver = (hostname: string) => Promise<readonly LookupAddress[]>;

export interface WebhookTargetOptions {
  /** EARSHOT_WEBHOOK_ALLOWLIST: entries naming a host or origin exactly allow its internal addresses. */
  allowlist: readonly string[];
  /** EARSHOT_WEBHOOK_ALLOWED_NETWORKS: CIDR ranges allowed although not public. */
  allowedNetworks: readonly string[];
  /** A lookup not answered within this long fails (ETIMEOUT). */
  dnsTimeoutMs: number;
  /** Default: the system resolver (dns.lookup: hosts file, then DNS), every address. */
  resolve?: HostResolver | undefined;
}

/** Thrown when a target is refused by policy (never retried), as opposed to a lookup that failed. */
export class WebhookTargetRefused extends Error {
  override readonly name = "WebhookTargetRefused";
}

/** A checked target: the addresses a delivery may connect to (empty for a literal IP, which needs no lookup). */
export interface CheckedTarget {
  addresses: readonly LookupAddress[];
}

const systemResolver: HostResolver = (hostname) => lookup(hostname, { all: true, verbatim: true });

export class WebhookTargets {
  private readonly networks: readonly Network[];
  private readonly resolve: HostResolver;

  constructor(private readonly options: WebhookTargetOptions) {
    this.networks = options.allowedNetworks.map(parseNetwork);
    this.resolve = options.resolve ?? systemResolver;
  }

  static fromConfig(config: Pick<ServerConfig, "webhookAllowlist" | "webhookAllowedNetworks" | "webhookDnsTimeoutSeconds">): WebhookTargets {
    return new WebhookTargets({
      allowlist: config.webhookAllowlist,
      allowedNetworks: config.webhookAllowedNetworks,
      dnsTimeoutMs: config.webhookDnsTimeoutSeconds * 1000,
    });
  }

  /**
   * The addresses `url` may be delivered to. Throws WebhookTargetRefused when one is not allowed, or the
   * lookup's error (ENOTFOUND, ETIMEOUT, the signal's reason) when the name could not be resolved.
   */
  async check(url: URL, signal?: AbortSignal): Promise<CheckedTarget> {
    const vouched = this.options.allowlist.some((entry) => namesHostExactly(entry) && allowlistMatches(url, entry));
    const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
    if (net.isIP(host) !== 0) {
      if (!vouched) this.refuseUnlessAllowed(url, host);
      return { addresses: [] };
    }
    const addresses = await this.lookup(host, signal);
    if (!vouched) for (const { address } of addresses) this.refuseUnlessAllowed(url, address, host);
    return { addresses };
  }

  private refuseUnlessAllowed(url: URL, address: string, hostname?: string): void {
    const range = nonPublicRange(address);
    if (range === undefined || this.networks.some((network) => inNetwork(address, network))) return;
    const where = hostname === undefined ? `'${url.host}'` : `'${hostname}' (${address})`;
    throw new WebhookTargetRefused(
      `webhook_url host ${where} is not a public address (${range}); internal targets need EARSHOT_WEBHOOK_ALLOWLIST naming the host or EARSHOT_WEBHOOK_ALLOWED_NETWORKS.`,
    );
  }

  private async lookup(hostname: string, signal?: AbortSignal): Promise<readonly LookupAddress[]> {
    signal?.throwIfAborted();
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`no DNS answer for '${hostname}' within ${this.options.dnsTimeoutMs} ms`), { code: "ETIMEOUT" })), this.options.dnsTimeoutMs);
      onAbort = () => reject(signal?.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
    try {
      // The system lookup cannot be cancelled: past the deadline its answer is simply not waited for.
      const addresses = await Promise.race([this.resolve(hostname), deadline]);
      if (addresses.length === 0) throw Object.assign(new Error(`'${hostname}' has no address`), { code: "ENOTFOUND" });
      return addresses;
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener("abort", onAbort);
    }
  }
}

/** Whether an allowlist entry names one host (or origin) rather than a wildcard of subdomains. */
function namesHostExactly(entry: string): boolean {
  const wanted = entry.trim();
  return wanted !== "" && !wanted.startsWith("*.");
}

/**
 * The submit route's address check of a webhook_url that validateWebhookUrl accepted: a 400 (param
 * `webhook_url`, code `invalid_webhook_url`) when its host is, or resolves to, an address that is not allowed.
 * A name that cannot be resolved now (unknown, no answer in time) is accepted: every delivery checks again, and
 * a transient DNS failure, or a name only the worker that runs the job resolves, should not cost the client its
 * upload.
 */
export async function validateWebhookTarget(raw: string | null, targets: WebhookTargets): Promise<void> {
  if (raw === null) return;
  try {
    await targets.check(new URL(raw));
  } catch (error) {
    if (error instanceof WebhookTargetRefused) throw ApiError.invalidParam("webhook_url", error.message, "invalid_webhook_url");
  }
}
