// A WebRTC call's SDP offer (POST /v1/realtime/calls), checked before any of it reaches the WebRTC stack: it must be
// SDP (RFC 8866) with an audio m-line that sends Opus at 48 kHz (the microphone track) and a data channel m-line (the
// `oai-events` channel), each with its ICE credentials and DTLS fingerprint. What fails is a 400 in OpenAI's shape
// naming `sdp`, a missing Opus codec one naming the codecs offered.
import { ApiError } from "./errors.js";

/** The largest offer taken (a browser's is 3-6 KB). */
export const MAX_SDP_BYTES = 64 * 1024;

interface MediaSection {
  kind: string;
  port: number;
  protocol: string;
  attributes: string[];
}

function invalidOffer(message: string, code = "invalid_offer"): ApiError {
  return ApiError.invalidParam("sdp", `Invalid SDP offer: ${message}`, code);
}

/** `a=name:value` lines of a section, by name. */
function attributeValues(attributes: readonly string[], name: string): string[] {
  const prefix = `${name}:`;
  return attributes.filter((line) => line.startsWith(prefix)).map((line) => line.slice(prefix.length).trim());
}

function hasAttribute(attributes: readonly string[], name: string): boolean {
  return attributes.some((line) => line === name || line.startsWith(`${name}:`));
}

/** The session-level attributes and the media sections of an SDP text; throws a 400 when it is not SDP. */
function parseSdp(sdp: string): { session: string[]; media: MediaSection[] } {
  const lines = sdp.split(/\r?\n/).filter((line) => line !== "");
  if (lines[0] !== "v=0") throw invalidOffer("it must start with 'v=0'.");
  const session: string[] = [];
  const media: MediaSection[] = [];
  for (const line of lines) {
    if (!/^[a-z]=/.test(line)) throw invalidOffer(`'${line.slice(0, 40)}' is not an SDP line (type=value).`);
    const value = line.slice(2);
    if (line.startsWith("m=")) {
      const [kind, port, protocol] = value.split(" ");
      if (kind === undefined || port === undefined || protocol === undefined || !/^\d+(\/\d+)?$/.test(port)) {
        throw invalidOffer(`the media line 'm=${value.slice(0, 60)}' is malformed.`);
      }
      media.push({ kind, port: Number.parseInt(port, 10), protocol, attributes: [] });
    } else if (line.startsWith("a=")) (media.at(-1)?.attributes ?? session).push(value);
  }
  return { session, media };
}

/** What the call needs of a checked offer. */
export interface CheckedOffer {
  /** The RTP payload type of Opus in the audio m-line. */
  opusPayloadType: number;
}

/**
 * Checks an offer; throws a 400 ApiError (param `sdp`) when it is malformed, has no audio m-line sending Opus/48000 or
 * no data channel, or lacks its ICE credentials or DTLS fingerprint.
 */
export function checkSdpOffer(sdp: string): CheckedOffer {
  if (sdp.trim() === "") throw ApiError.missingParam("sdp");
  if (Buffer.byteLength(sdp) > MAX_SDP_BYTES) throw invalidOffer(`it is larger than ${MAX_SDP_BYTES / 1024} KB.`, "sdp_too_large");
  const { session, media } = parseSdp(sdp);
  const audio = media.find((section) => section.kind === "audio" && section.port !== 0);
  if (!audio) throw invalidOffer("it has no audio m-line (m=audio): add the microphone's track to the peer connection before creating the offer.");
  if (hasAttribute(audio.attributes, "recvonly") || hasAttribute(audio.attributes, "inactive")) {
    throw invalidOffer("its audio m-line does not send (a=recvonly or a=inactive): add the microphone's track before creating the offer.");
  }
  const codecs = attributeValues(audio.attributes, "rtpmap").map((map) => {
    const [payloadType, encoding = ""] = map.split(/\s+/);
    return { payloadType: Number(payloadType), encoding };
  });
  const opus = codecs.find(({ encoding }) => /^opus\/48000(\/[12])?$/i.test(encoding));
  if (!opus || !Number.isInteger(opus.payloadType)) {
    const offered = codecs.map(({ encoding }) => encoding.split("/")[0]).filter(Boolean);
    throw ApiError.invalidParam(
      "sdp",
      `Unsupported audio codec: the offer's audio m-line offers ${offered.length > 0 ? [...new Set(offered)].join(", ") : "no codec"}; Earshot takes Opus (opus/48000/2), as every browser sends it.`,
      "unsupported_codec",
    );
  }
  const channel = media.find((section) => section.kind === "application" && section.port !== 0 && /DTLS\/SCTP/i.test(section.protocol));
  if (!channel) throw invalidOffer("it has no data channel (m=application ... webrtc-datachannel): create the 'oai-events' data channel before creating the offer.");
  for (const section of [audio, channel]) {
    for (const name of ["ice-ufrag", "ice-pwd", "fingerprint"]) {
      if (!hasAttribute(section.attributes, name) && !hasAttribute(session, name)) throw invalidOffer(`its ${section.kind} m-line has no a=${name}.`);
    }
  }
  return { opusPayloadType: opus.payloadType };
}
