// Which IP addresses a webhook may be posted to by default: public unicast ones only. Everything else (loopback,
// RFC 1918, link-local with the cloud metadata address, unique-local, CGNAT, multicast, unspecified, broadcast,
// documentation, benchmarking and other IANA special-purpose ranges) would let anyone who can submit a job make
// this server post to its own network. IPv6 forms that carry an IPv4 address (IPv4-mapped, IPv4-translated,
// NAT64, 6to4, Teredo) are judged by the IPv4 address they carry; the deprecated IPv4-compatible form and
// local-use NAT64 are refused outright.
//
// The ranges are ipaddr.js's (the IANA special-purpose registries, kept up to date there, and what fastify's
// trust-proxy check already uses) rather than a table of our own.
import net from "node:net";

import ipaddr from "ipaddr.js";

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** A CIDR range the operator lets webhooks reach although it is not public. */
export interface Network {
  base: Address;
  prefix: number;
  /** As the operator wrote it, for logs. */
  text: string;
}

/**
 * Why `address` (an IPv4 or IPv6 address as `net.isIP` reads it, IPv6 without brackets) is not public, e.g.
 * "loopback" or "IPv4-mapped private", or undefined when it is a public unicast address.
 */
export function nonPublicRange(address: string): string | undefined {
  if (net.isIP(address) === 0) return "not an IP address";
  return rangeOf(ipaddr.parse(address));
}

/** ipaddr.js's range names as a log or error message says them. */
const RANGE_NAMES: Record<string, string> = {
  linkLocal: "link-local",
  carrierGradeNat: "carrier-grade NAT",
  private: "private (RFC 1918)",
  uniqueLocal: "unique-local",
  deprecatedSiteLocal: "site-local",
  reserved: "reserved or documentation",
};

function named(range: string): string | undefined {
  return range === "unicast" ? undefined : (RANGE_NAMES[range] ?? range);
}

function rangeOf(address: Address): string | undefined {
  if (address.kind() === "ipv4") return named((address as ipaddr.IPv4).range());
  const v6 = address as ipaddr.IPv6;
  const parts = v6.parts;
  const embedded = (form: string, ...ipv4s: ipaddr.IPv4[]): string | undefined => {
    for (const ipv4 of ipv4s) {
      const range = rangeOf(ipv4);
      if (range !== undefined) return `${form} ${range}`;
    }
    return undefined;
  };
  const ipv4At = (high: number, low: number) => new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
  const zeros = (from: number, to: number) => parts.slice(from, to).every((part) => part === 0);
  // ::ffff:a.b.c.d (IPv4-mapped) and ::ffff:0:a.b.c.d (IPv4-translated, RFC 6145) reach a.b.c.d.
  if (zeros(0, 5) && parts[5] === 0xffff) return embedded("IPv4-mapped", ipv4At(parts[6]!, parts[7]!));
  if (zeros(0, 4) && parts[4] === 0xffff && parts[5] === 0) return embedded("IPv4-translated", ipv4At(parts[6]!, parts[7]!));
  // ::a.b.c.d (IPv4-compatible, deprecated by RFC 4291): no real destination is written so; :: and ::1 fall here too.
  if (zeros(0, 6)) return named(v6.range()) ?? "IPv4-compatible";
  // 64:ff9b::a.b.c.d (NAT64 well-known prefix, RFC 6052): the translator posts to a.b.c.d.
  if (parts[0] === 0x64 && parts[1] === 0xff9b && zeros(2, 6)) return embedded("NAT64", ipv4At(parts[6]!, parts[7]!));
  // 64:ff9b:1::/48 (local-use NAT64, RFC 8215): a site's own translation, not a public destination.
  if (parts[0] === 0x64 && parts[1] === 0xff9b && parts[2] === 1) return "local-use NAT64";
  // 2002:aabb:ccdd::/48 (6to4, RFC 3056) carries a.b.c.d in its prefix.
  if (parts[0] === 0x2002) return embedded("6to4", ipv4At(parts[1]!, parts[2]!));
  // 2001:0::/32 (Teredo, RFC 4380): the server's IPv4 in bits 32-63, the client's (inverted) in the last 32.
  if (parts[0] === 0x2001 && parts[1] === 0) return embedded("Teredo", ipv4At(parts[2]!, parts[3]!), ipv4At(parts[6]! ^ 0xffff, parts[7]! ^ 0xffff));
  return named(v6.range());
}

/** Whether `entry` is an IP address or a CIDR range (`10.0.0.0/8`, `fd00::/8`, `127.0.0.1`, `[::1]`). */
export function isNetworkEntry(entry: string): boolean {
  return parseNetworkOrUndefined(entry) !== undefined;
}

/** Parses an operator's network entry; throws naming it when it is neither an address nor a CIDR range. */
export function parseNetwork(entry: string): Network {
  const network = parseNetworkOrUndefined(entry);
  if (network === undefined) throw new Error(`'${entry}' is not an IP address or CIDR range (e.g. 10.0.0.0/8, fd00::/8, 127.0.0.1)`);
  return network;
}

function parseNetworkOrUndefined(entry: string): Network | undefined {
  const text = entry.trim();
  const match = /^\[?([^\]/]+)\]?(?:\/(\d{1,3}))?$/.exec(text);
  if (!match) return undefined;
  const [, host, prefixText] = match as unknown as [string, string, string | undefined];
  // net.isIP takes only the plain spellings (dotted-quad IPv4, standard IPv6): an entry means what it says.
  const family = net.isIP(host);
  if (family === 0) return undefined;
  const bits = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix > bits) return undefined;
  return { base: ipaddr.parse(host), prefix, text };
}

/** Whether `address` lies in `network`; an IPv4-mapped IPv6 address matches IPv4 networks (and the other way). */
export function inNetwork(address: string, network: Network): boolean {
  if (net.isIP(address) === 0) return false;
  const parsed = ipaddr.parse(address);
  const { base, prefix } = network;
  if (parsed.kind() === base.kind()) return parsed.match(base, prefix);
  if (parsed.kind() === "ipv6") {
    const v6 = parsed as ipaddr.IPv6;
    return v6.isIPv4MappedAddress() && v6.toIPv4Address().match(base, prefix);
  }
  return (parsed as ipaddr.IPv4).toIPv4MappedAddress().match(base, prefix);
}
