// The server's side of a WebRTC call: a werift RTCPeerConnection (ICE, DTLS, SRTP, SCTP data channels in TypeScript,
// no native build) configured for a transcription server: it receives one Opus audio track and data channels,
// gathers host candidates only (no STUN or TURN server is ever contacted), on the announced addresses
// (EARSHOT_WEBRTC_ANNOUNCE_ADDRESSES, each socket bound on every interface, so a 1:1 NAT's public address works) in
// the configured UDP port range, and answers the browser's offer whole (no trickle ICE: the answer carries every
// candidate, as OpenAI's does).
import { RTCPeerConnection, useOPUS } from "werift";

import { ApiError, noUdpPortFree } from "../../../api/errors.js";

/** Where a call's media is received (settings: Realtime over WebRTC). */
export interface WebRtcSettings {
  /** UDP ports the ICE sockets are bound in, first and last; undefined: any the system gives. */
  udpPorts?: readonly [number, number] | undefined;
  /** The addresses announced; empty: the machine's interface addresses (not loopback). */
  announceAddresses: readonly string[];
  /** A call not connected (ICE, DTLS, the oai-events data channel) this long after its answer is closed. */
  connectTimeoutMs: number;
}

/** Making the answer (binding sockets, gathering host candidates) takes milliseconds; this bounds it all the same. */
const ANSWER_DEADLINE_MS = 10_000;

function peerConfig(settings: WebRtcSettings, maxMessageBytes: number): ConstructorParameters<typeof RTCPeerConnection>[0] {
  const announced = settings.announceAddresses.length > 0;
  return {
    codecs: { audio: [useOPUS()], video: [] },
    iceServers: [],
    bundlePolicy: "max-bundle",
    // With announced addresses, those are the only candidates (werift gathers the interfaces' unless told not to).
    iceUseIpv4: !announced,
    iceUseIpv6: !announced,
    ...(announced ? { iceAdditionalHostAddresses: [...settings.announceAddresses] } : {}),
    ...(settings.udpPorts ? { icePortRange: [settings.udpPorts[0], settings.udpPorts[1]] as [number, number] } : {}),
    maxMessageSize: maxMessageBytes,
  };
}

/** A peer connection for one call (its tracks and data channels are listened to before it answers: see answerOffer). */
export function createPeerConnection(settings: WebRtcSettings, maxMessageBytes: number): RTCPeerConnection {
  return new RTCPeerConnection(peerConfig(settings, maxMessageBytes));
}

/**
 * `pc`'s answer to `offer` (already checked by api/sdpOffer.ts): its SDP, with its candidates. Throws a 400 when the
 * WebRTC stack refuses the offer, a 503 when no UDP port could be bound (the caller closes the connection).
 */
export async function answerOffer(pc: RTCPeerConnection, offer: string, settings: WebRtcSettings): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(ApiError.serverError("The WebRTC answer could not be made in time.", "webrtc_answer_timeout")), ANSWER_DEADLINE_MS);
    });
    const answer = await Promise.race([makeAnswer(pc, offer), deadline]);
    if (!/^a=candidate:/m.test(answer)) throw noUdpPortFree(settings.udpPorts);
    return answer;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Applies the offer and makes the answer. What the WebRTC stack refuses on the way is the offer's fault (it passed
 * the shape checks, but the stack cannot answer it: an m-line without its mid, a BUNDLE naming none, ...): a 400.
 */
async function makeAnswer(pc: RTCPeerConnection, offer: string): Promise<string> {
  try {
    await pc.setRemoteDescription({ type: "offer", sdp: offer });
    // Resolves once the host candidates are gathered (no server to ask): the description then holds them all.
    await pc.setLocalDescription(await pc.createAnswer());
  } catch (error) {
    throw ApiError.invalidParam("sdp", `Invalid SDP offer: the WebRTC stack cannot answer it (${String((error as Error).message ?? error).slice(0, 200)}).`, "invalid_offer");
  }
  const answer = pc.localDescription?.sdp;
  if (!answer) throw ApiError.invalidParam("sdp", "Invalid SDP offer: the WebRTC stack made no answer to it.", "invalid_offer");
  return answer;
}
