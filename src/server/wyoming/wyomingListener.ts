// The Wyoming listener of `earshot serve` (EARSHOT_WYOMING): a TCP server whose every connection is one realtime
// session (opened through app.realtime.openSession, so it counts against the same cap, keeps the same limits, reports
// to the same stats and metrics and is drained alike), speaking Home Assistant's protocol over a WyomingChannel. The
// session transcribes in manual commit mode (the client's audio-stop commits) with live text at EARSHOT_WYOMING_DELAY.
// Optionally announced over mDNS (zeroconf.ts). Wyoming has no authentication: the address it binds is the only gate.
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

import type { FastifyInstance } from "fastify";

import { toApiError } from "../../api/errors.js";
import { defaultSessionConfig, type TranscriptionDelay } from "../../api/realtimeSession.js";
import { modelLanguages } from "../../engine/engineFields.js";
import { readModelFactsSync } from "../../engine/modelKind.js";
import { realtimeId } from "../../formats/realtimeEvents.js";
import type { ModelRegistry } from "../../transcription/ModelRegistry.js";
import { LANGUAGES } from "../../transcription/languages.js";
import type { RealtimeLimits } from "../realtime/realtimeLimits.js";
import type { Admission } from "../realtime/upgradeAdmission.js";
import { WyomingChannel } from "./WyomingChannel.js";
import { DEFAULT_WYOMING_BOUNDS, encodeWyomingEvent } from "./wyomingFraming.js";
import { announceWyoming, interfaceAddresses, type ZeroconfAnnouncement } from "./zeroconf.js";

/** The caller Wyoming sessions count against (their share, when per-key shares apply). */
export const WYOMING_CALLER = "wyoming";
/** At close, connections still open (after the drain) get this long before they are cut. */
const CLOSE_GRACE_MS = 500;
const ATTRIBUTION = { name: "Earshot (whisper.cpp)", url: "https://github.com/ggml-org/whisper.cpp" };

export interface WyomingListenerOptions {
  app: FastifyInstance;
  host: string;
  port: number;
  zeroconf: boolean;
  delay: TranscriptionDelay;
  models: Pick<ModelRegistry, "list" | "find" | "defaultModel">;
  limits: Pick<RealtimeLimits, "maxBufferSeconds" | "maxSessionSeconds">;
  /** Whether the server is shutting down (new connections are refused). */
  draining(): boolean;
}

export interface WyomingListener {
  /** The port listened on (the one asked for, or the one the system gave for 0). */
  port: number;
  /** Stops listening and the announcement; connections still open are closed, and cut after a grace. */
  close(): Promise<void>;
}

/** describe's answer: one asr program, the served models (aliases included) with the languages they take. */
export function wyomingInfo(models: Pick<ModelRegistry, "list">, version: string): Record<string, unknown> {
  const allLanguages = Object.keys(LANGUAGES);
  return {
    asr: [
      {
        name: "earshot",
        description: "Earshot: whisper.cpp speech-to-text with live transcripts",
        attribution: ATTRIBUTION,
        installed: true,
        version,
        models: models.list().map((served) => {
          const facts = readModelFactsSync(served.model.path);
          const engine = facts.kind === "parakeet" ? "Parakeet, whisper.cpp" : "whisper.cpp";
          return {
            name: served.id,
            description: served.id === served.model.name ? `${engine} ${served.model.name}` : `${served.id} (${engine} ${served.model.name})`,
            attribution: ATTRIBUTION,
            installed: true,
            version: null,
            languages: modelLanguages(facts) ?? allLanguages,
          };
        }),
        supports_transcript_streaming: true,
        // Turns end at the client's audio-stop: Home Assistant's own VAD decides when the user stopped speaking.
        requires_external_vad: true,
      },
    ],
  };
}

/** The version in Earshot's package.json (two folders up from src/server/wyoming and dist/server/wyoming alike). */
function earshotVersion(): string {
  const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "package.json");
  try {
    return (JSON.parse(fs.readFileSync(file, "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

export async function startWyomingListener(options: WyomingListenerOptions): Promise<WyomingListener> {
  const { app, models, limits } = options;
  const log = app.log.child({ component: "wyoming" });
  const sockets = new Set<net.Socket>();
  const info = wyomingInfo(models, earshotVersion());

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    const id = realtimeId("sess");
    const connectionLog = log.child({ session: id, peer: socket.remoteAddress });
    const refuse = (text: string, code: string) => {
      connectionLog.info({ code }, "wyoming connection refused");
      socket.end(encodeWyomingEvent("error", { text, code }));
    };
    if (options.draining()) return refuse("The server is shutting down.", "server_shutting_down");
    const channel = new WyomingChannel({
      socket,
      log: connectionLog,
      bounds: DEFAULT_WYOMING_BOUNDS,
      info: () => info,
      servesModel: (name) => models.find(name) !== undefined,
      maxUtteranceSeconds: limits.maxBufferSeconds,
    });
    const admission: Admission = {
      config: { ...defaultSessionConfig(models.defaultModel.name), turnDetection: null, delay: options.delay },
      identity: { id, expiresAt: Math.floor(Date.now() / 1000 + limits.maxSessionSeconds) },
      dialect: "ga",
      caller: WYOMING_CALLER,
    };
    try {
      app.realtime.openSession(channel, admission, connectionLog);
    } catch (error) {
      const apiError = toApiError(error);
      if (apiError.status >= 500) connectionLog.error({ err: error }, "wyoming session could not be opened");
      return refuse(apiError.message, apiError.code ?? "refused");
    }
    connectionLog.info("wyoming session opened");
    void channel.whenClosed().then(() => connectionLog.info("wyoming session closed"));
  });
  server.on("error", (error) => log.error({ err: error }, "wyoming listener error"));

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: options.host, port: options.port }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  log.info({ host: options.host, port }, "serving Wyoming (no authentication: keep it on a trusted address)");

  let announcement: ZeroconfAnnouncement | undefined;
  if (options.zeroconf) {
    const any = options.host === "0.0.0.0" || options.host === "::";
    announcement = announceWyoming({
      name: "earshot",
      port,
      addresses: any ? interfaceAddresses() : net.isIPv4(options.host) ? [options.host] : [],
      // A listener on one address is announced on that address's interface only (the loopback for 127.0.0.1).
      ...(!any && net.isIPv4(options.host) ? { interface: options.host } : {}),
      onError: (error) => log.warn({ err: error }, "zeroconf announcement failed"),
    });
    log.info("announcing _wyoming._tcp over mDNS");
  }

  let closing: Promise<void> | undefined;
  return {
    port,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        await announcement?.stop().catch(() => undefined);
        for (const socket of sockets) socket.end();
        if (sockets.size > 0) await new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS));
        for (const socket of sockets) socket.destroy();
        await stopped;
      })();
      return closing;
    },
  };
}
