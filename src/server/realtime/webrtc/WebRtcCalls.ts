// The WebRTC calls of one server: each an answered offer whose connection carries a RealtimeSession (the same session
// a WebSocket carries, over a CallChannel). A call takes its place among the server's realtime sessions (the cap, the
// key's and the secret's shares) when it is admitted, before its answer is made, and gives it back when it ends: hung
// up, closed by the client, idle, expired, failed, or not connected within the connect deadline. The calls live in this
// process: a hangup reaches one only on the replica that answered it.
import type { FastifyBaseLogger } from "fastify";

import { ApiError } from "../../../api/errors.js";
import { OpusTrackDecoder } from "../../../audio/realtime/opusTrack.js";
import { realtimeId } from "../../../formats/realtimeEvents.js";
import type { ServerContext } from "../../serverContext.js";
import { RealtimeSession } from "../RealtimeSession.js";
import type { RealtimeSessions } from "../RealtimeSessions.js";
import type { Admission, SessionCaller } from "../upgradeAdmission.js";
import { CallChannel } from "./callChannel.js";
import { answerOffer, createPeerConnection, type WebRtcSettings } from "./peerConnection.js";

/** What the calls need of the server. */
export type WebRtcCallDeps = Pick<ServerContext, "transcription" | "loadVad" | "realtimeLimits" | "metrics"> & {
  webrtc: WebRtcSettings;
  sessions: RealtimeSessions;
};

/** After a shutdown's drain: calls still open get this long to close before they are cut off. */
const CLOSE_GRACE_MS = 500;

interface Call {
  channel: CallChannel;
  /** Who may hang it up: the caller it counts against, or the client secret that opened it. */
  caller: string;
  secretId: string | undefined;
}

export class WebRtcCalls {
  private readonly calls = new Map<string, Call>();

  constructor(
    private readonly deps: WebRtcCallDeps,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** Calls open (connected or still connecting). */
  get size(): number {
    return this.calls.size;
  }

  /**
   * Answers `offer` (checked: Opus at payload type `opusPayloadType`) for an admitted session: its place is taken now
   * (429 when there is none), the session starts (its `session.created` waits for the data channel). Resolves with the
   * call's id and the answer's SDP.
   */
  async open(admission: Admission, offer: string, opusPayloadType: number): Promise<{ id: string; answer: string }> {
    const { sessions, webrtc, realtimeLimits: limits } = this.deps;
    sessions.check(admission);
    const place = sessions.take(admission);
    const started = performance.now();
    const id = realtimeId("rtc");
    const log = this.log.child({ session: admission.identity.id, call: id });
    let connectTimer: NodeJS.Timeout | undefined;
    let channel: CallChannel | undefined;
    let answer: string;
    try {
      const decoder = await OpusTrackDecoder.open();
      // The channel listens to the connection before it answers: the track is announced while the offer is applied.
      channel = new CallChannel({
        pc: createPeerConnection(webrtc, limits.maxMessageBytes),
        decoder,
        opusPayloadType,
        maxMessageBytes: limits.maxMessageBytes,
        log,
        onOpen: () => {
          clearTimeout(connectTimer);
          log.info({ setupMs: Math.round(performance.now() - started) }, "realtime call connected");
        },
      });
      answer = await answerOffer(channel.pc, offer, webrtc);
    } catch (error) {
      channel?.terminate();
      place.release();
      throw error;
    }
    let session: RealtimeSession;
    try {
      const { config, identity, dialect } = admission;
      session = new RealtimeSession({ channel, transcription: this.deps.transcription, loadVad: this.deps.loadVad, limits, log, scheduler: sessions.scheduler, metrics: this.deps.metrics, config, identity, dialect });
    } catch (error) {
      channel.terminate();
      place.release();
      log.error({ err: error }, "realtime call could not be opened");
      throw ApiError.internal();
    }
    place.fill(session);
    this.calls.set(id, { channel, caller: admission.caller, secretId: admission.secretId });
    connectTimer = setTimeout(() => {
      log.info({ connectTimeoutMs: webrtc.connectTimeoutMs }, "realtime call not connected in time: closed");
      channel.terminate();
    }, webrtc.connectTimeoutMs);
    connectTimer.unref();
    void channel.whenClosed().then(() => {
      clearTimeout(connectTimer);
      this.calls.delete(id);
      place.release();
      log.info("realtime call closed");
    });
    log.info({ dialect: admission.dialect, model: admission.config.model }, "realtime call answered");
    return { id, answer };
  }

  /**
   * Ends call `id` if `who` may (the caller it counts against, or the client secret that opened it); false when there
   * is no such call for them (the route answers 404 either way: a call id says nothing to others).
   */
  hangup(id: string, who: SessionCaller): boolean {
    const call = this.calls.get(id);
    if (!call) return false;
    const allowed = who.secret ? who.secret.identity.id === call.secretId : who.caller === call.caller;
    if (!allowed) return false;
    call.channel.close(1000, "hung up");
    return true;
  }

  /** Shutdown, after the drain: the calls still open are closed, and cut off if they linger. */
  async closeAll(): Promise<void> {
    const calls = [...this.calls.values()];
    for (const call of calls) call.channel.close(1001, "server shutting down");
    if (calls.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS));
    for (const call of this.calls.values()) call.channel.terminate();
  }
}
