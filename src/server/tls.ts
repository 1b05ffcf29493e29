// HTTPS/WSS for `earshot serve`: a certificate and key given by path, or a self-signed certificate generated
// once for local use and kept beside the models (reused until it nears expiry). The official SDK's Node realtime
// client always connects with wss://, so an SDK user needs one of the two (and to trust it, see docs/realtime.md).
import fs from "node:fs";
import { X509Certificate } from "node:crypto";
import net from "node:net";
import path from "node:path";

import { generate } from "selfsigned";

import { ConfigError } from "../config.js";
import { makeDirectory } from "../makeDirectory.js";

export interface TlsFiles {
  key: string;
  cert: string;
  /** Where the certificate is (for the startup message: clients may need to trust it). */
  certPath: string;
  selfSigned: boolean;
}

const SELF_SIGNED_DAYS = 365;
/** A stored self-signed certificate is replaced when it has less than this left. */
const RENEW_BEFORE_MS = 7 * 86_400_000;

function readPem(file: string, what: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(`cannot read the TLS ${what} ${file}: ${(error as Error).message}`);
  }
}

/** Names a self-signed certificate is valid for: localhost, the loopback addresses and the host listened on. */
function altNames(host: string): Array<{ type: 2; value: string } | { type: 7; ip: string }> {
  const names = new Set(["localhost", "127.0.0.1", "::1"]);
  if (host && host !== "0.0.0.0" && host !== "::") names.add(host);
  return [...names].map((name) => (net.isIP(name) ? { type: 7 as const, ip: name } : { type: 2 as const, value: name }));
}

async function selfSigned(dir: string, host: string): Promise<TlsFiles> {
  const certPath = path.join(dir, "earshot-self-signed.crt");
  const keyPath = path.join(dir, "earshot-self-signed.key");
  if (fs.existsSync(certPath) && fs.existsSync(keyPath)) {
    const cert = fs.readFileSync(certPath, "utf8");
    const x509 = new X509Certificate(cert);
    const coversHost = !host || host === "0.0.0.0" || host === "::" || (net.isIP(host) ? x509.checkIP(host) : x509.checkHost(host)) !== undefined;
    if (coversHost && new Date(x509.validTo).getTime() - Date.now() > RENEW_BEFORE_MS) {
      return { cert, key: fs.readFileSync(keyPath, "utf8"), certPath, selfSigned: true };
    }
  }
  const now = new Date();
  const pems = await generate([{ name: "commonName", value: "Earshot local server" }], {
    keyType: "ec",
    algorithm: "sha256",
    notBeforeDate: new Date(now.getTime() - 60_000),
    notAfterDate: new Date(now.getTime() + SELF_SIGNED_DAYS * 86_400_000),
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames: altNames(host) },
    ],
  });
  makeDirectory(dir);
  fs.writeFileSync(keyPath, pems.private, { mode: 0o600 });
  fs.writeFileSync(certPath, pems.cert);
  return { cert: pems.cert, key: pems.private, certPath, selfSigned: true };
}

/**
 * The TLS material the server should use, or undefined for plain HTTP. A certificate without its key (or the
 * other way round) is a configuration error.
 */
export async function resolveTls(options: { tlsCert?: string | undefined; tlsKey?: string | undefined; tlsSelfSigned: boolean; host: string; dir: string }): Promise<TlsFiles | undefined> {
  if (options.tlsCert || options.tlsKey) {
    if (!options.tlsCert || !options.tlsKey) throw new ConfigError("TLS needs both a certificate (--tls-cert, EARSHOT_TLS_CERT) and its key (--tls-key, EARSHOT_TLS_KEY)");
    return { cert: readPem(options.tlsCert, "certificate"), key: readPem(options.tlsKey, "key"), certPath: path.resolve(options.tlsCert), selfSigned: false };
  }
  if (options.tlsSelfSigned) return selfSigned(options.dir, options.host);
  return undefined;
}
