// Which browser origins may call the API (CORS) and open realtime sockets: the page's own origin, and the
// configured allowlist ("*" for any).

/** The host[:port] of an Origin header; undefined for "null" (file://, sandboxed pages) or anything unparsable. */
function originHost(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}

export function isAllowedOrigin(origin: string, host: string | undefined, allowed: readonly string[]): boolean {
  const sameOrigin = host !== undefined && originHost(origin) === host;
  return sameOrigin || allowed.includes("*") || allowed.includes(origin);
}
