// A realtime session's WebSocket (GET /v1/realtime upgraded): messages in as ws frames, server events out as text
// frames, the session's back-pressure as the socket left unread, the bytes of the connection under it counted for the
// speed limit as they arrive (before a large message is whole).
import type { Duplex } from "node:stream";

import type { FastifyBaseLogger } from "fastify";
import type { WebSocket } from "ws";

import type { ChannelListener, SessionChannel } from "./sessionChannel.js";

/** While the socket is not being read, a ping this often finds out whether the client is still there. */
const PAUSED_PING_MS = 2000;

export class WebSocketChannel implements SessionChannel {
  readonly kind = "websocket";
  readonly pausable = true;
  readonly audioTrack = false;
  private pausedPing: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: WebSocket,
    /** The connection under `socket`: its bytes are counted against the session's audio speed limit. */
    private readonly transport: Duplex | undefined,
    private readonly log: FastifyBaseLogger,
  ) {}

  listen(listener: ChannelListener): void {
    // The socket keeps ws's default binaryType ("nodebuffer"): every message is one Buffer.
    this.socket.on("message", (data, isBinary) => listener.message(data as Buffer, isBinary));
    this.socket.on("close", () => listener.closed());
    this.socket.on("error", (error) => this.log.debug({ err: error }, "realtime socket error"));
    this.transport?.on("data", (chunk: Buffer) => listener.received(chunk.length));
  }

  send(text: string): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(text);
  }

  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }

  terminate(): void {
    this.socket.terminate();
  }

  pause(): void {
    this.socket.pause();
    // Nothing is read while paused, a close frame or the end of the connection included; a ping fails once the
    // client is gone, and the socket closes then instead of after the backlog.
    this.pausedPing = setInterval(() => {
      if (this.socket.readyState === this.socket.OPEN) this.socket.ping();
    }, PAUSED_PING_MS);
    this.pausedPing.unref();
  }

  resume(): void {
    clearInterval(this.pausedPing);
    this.pausedPing = undefined;
    this.socket.resume();
  }

  whenClosed(): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.socket.readyState === this.socket.CLOSED) resolve();
      else this.socket.once("close", () => resolve());
    });
  }
}
