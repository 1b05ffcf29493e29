/**
 * A URL with its password (and a user name that may be one) replaced by `****`, for logs and messages (the
 * credentials of EARSHOT_REDIS_URL). Not server/logRedaction.ts's namesake, which masks query parameters.
 */
export function redactUrl(url: string | undefined): string | undefined {
  return url?.replace(/^(\w+:\/\/)[^@/]*@/, "$1****@");
}
