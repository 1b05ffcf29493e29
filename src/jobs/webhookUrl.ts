// Which URLs a job's webhook may go to: absolute http(s) URLs, and when EARSHOT_WEBHOOK_ALLOWLIST is set only
// those whose host (or origin) it names. The submit route refuses any other with 400 (param webhook_url), and the
// sender checks again before every delivery, so no event is ever posted outside the allowlist. Which addresses the
// host may have (public ones, unless the operator allows internal ones) is webhookTarget.ts's check.
import { ApiError } from "../api/errors.js";

/** Longest webhook URL accepted (as most browsers and proxies). */
export const MAX_WEBHOOK_URL_LENGTH = 2048;

/**
 * One allowlist entry: a host name (`hooks.example.com`: any scheme and port), a wildcard for its subdomains
 * (`*.example.com`: not example.com itself), or an origin (`https://hooks.example.com:8443`: that scheme, host
 * and port only). Host names compare case-insensitively; IPv6 hosts are written in brackets (`[::1]`).
 */
export function allowlistMatches(url: URL, entry: string): boolean {
  const wanted = entry.trim().toLowerCase().replace(/\/+$/, "");
  if (wanted === "") return false;
  if (wanted.includes("://")) {
    let origin: string;
    try {
      origin = new URL(wanted).origin;
    } catch {
      return false;
    }
    return origin === url.origin;
  }
  const host = url.hostname.toLowerCase();
  if (wanted.startsWith("*.")) return host.endsWith(wanted.slice(1)) && host.length > wanted.length - 1;
  return host === wanted;
}

/** Why `raw` may not be a webhook URL, or undefined when it may (and is inside `allowlist` when one is set). */
export function webhookUrlProblem(raw: string, allowlist: readonly string[]): string | undefined {
  if (raw.length > MAX_WEBHOOK_URL_LENGTH) return `webhook_url is longer than ${MAX_WEBHOOK_URL_LENGTH} characters.`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "webhook_url must be an absolute http:// or https:// URL.";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return "webhook_url must be an absolute http:// or https:// URL.";
  if (url.username !== "" || url.password !== "") return "webhook_url must not contain credentials.";
  if (allowlist.length > 0 && !allowlist.some((entry) => allowlistMatches(url, entry))) {
    return `webhook_url host '${url.host}' is not in this server's webhook allowlist (EARSHOT_WEBHOOK_ALLOWLIST).`;
  }
  return undefined;
}

/**
 * The submit route's check: returns the URL as given (null when none), or throws a 400 ApiError with
 * param `webhook_url` and code `invalid_webhook_url`.
 */
export function validateWebhookUrl(raw: string | null | undefined, allowlist: readonly string[]): string | null {
  if (raw === undefined || raw === null || raw === "") return null;
  const problem = webhookUrlProblem(raw, allowlist);
  if (problem !== undefined) throw ApiError.invalidParam("webhook_url", problem, "invalid_webhook_url");
  return raw;
}
