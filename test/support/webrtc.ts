// WebRTC call fixtures: an SDP offer as Chromium makes it (a microphone track and the `oai-events` data channel, no
// candidates yet: OpenAI's browser snippet posts the offer at once), variants of it, the call request itself, and a
// WebRTC client in Node (werift) that sends an Opus track of its own making.
import dgram from "node:dgram";

import { type RTCDataChannel, RTCPeerConnection, RtpHeader, RtpPacket, useOPUS } from "werift";

/** Chromium's offer for `addTrack(microphone)` + `createDataChannel("oai-events")`, as it posts it. */
export const CHROMIUM_OFFER = [
  "v=0",
  "o=- 414617829089558062 2 IN IP4 127.0.0.1",
  "s=-",
  "t=0 0",
  "a=group:BUNDLE 0 1",
  "a=extmap-allow-mixed",
  "a=msid-semantic: WMS",
  "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126",
  "c=IN IP4 0.0.0.0",
  "a=rtcp:9 IN IP4 0.0.0.0",
  "a=ice-ufrag:WPsS",
  "a=ice-pwd:EDTx2BQab1B44+crals07Iqo",
  "a=ice-options:trickle",
  "a=fingerprint:sha-256 F8:B3:E3:01:5A:2E:84:42:E7:29:00:96:F2:03:65:62:7F:8F:F0:72:58:0D:55:0F:17:E7:2F:AF:12:6F:44:AA",
  "a=setup:actpass",
  "a=mid:0",
  "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
  "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
  "a=sendrecv",
  "a=msid:- 1b77d05a-bb6f-4f36-b061-85b4e97b498b",
  "a=rtcp-mux",
  "a=rtcp-rsize",
  "a=rtpmap:111 opus/48000/2",
  "a=rtcp-fb:111 transport-cc",
  "a=fmtp:111 minptime=10;useinbandfec=1",
  "a=rtpmap:63 red/48000/2",
  "a=fmtp:63 111/111",
  "a=rtpmap:9 G722/8000",
  "a=rtpmap:0 PCMU/8000",
  "a=rtpmap:8 PCMA/8000",
  "a=rtpmap:13 CN/8000",
  "a=rtpmap:110 telephone-event/48000",
  "a=rtpmap:126 telephone-event/8000",
  "a=ssrc:3361774176 cname:Y7721R00lfWPD2Wm",
  "a=ssrc:3361774176 msid:- 1b77d05a-bb6f-4f36-b061-85b4e97b498b",
  "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
  "c=IN IP4 0.0.0.0",
  "a=ice-ufrag:WPsS",
  "a=ice-pwd:EDTx2BQab1B44+crals07Iqo",
  "a=ice-options:trickle",
  "a=fingerprint:sha-256 F8:B3:E3:01:5A:2E:84:42:E7:29:00:96:F2:03:65:62:7F:8F:F0:72:58:0D:55:0F:17:E7:2F:AF:12:6F:44:AA",
  "a=setup:actpass",
  "a=mid:1",
  "a=sctp-port:5000",
  "a=max-message-size:262144",
  "",
].join("\r\n");

/** The offer with its audio m-line offering only `codecs` (e.g. G722 and PCMU: no Opus). */
export function offerWithCodecs(codecs: Array<{ payloadType: number; rtpmap: string }>): string {
  const lines = CHROMIUM_OFFER.split("\r\n").filter((line) => !/^a=(rtpmap|fmtp|rtcp-fb):/.test(line));
  const media = lines.findIndex((line) => line.startsWith("m=audio"));
  lines[media] = `m=audio 9 UDP/TLS/RTP/SAVPF ${codecs.map((codec) => codec.payloadType).join(" ")}`;
  const at = lines.findIndex((line) => line.startsWith("a=ssrc:"));
  lines.splice(at, 0, ...codecs.map((codec) => `a=rtpmap:${codec.payloadType} ${codec.rtpmap}`));
  return lines.join("\r\n");
}

/** The offer without its audio m-line (a data channel only). */
export function offerWithoutAudio(): string {
  const lines = CHROMIUM_OFFER.split("\r\n");
  const audio = lines.findIndex((line) => line.startsWith("m=audio"));
  const application = lines.findIndex((line) => line.startsWith("m=application"));
  return [...lines.slice(0, audio), ...lines.slice(application)].join("\r\n").replace("a=group:BUNDLE 0 1", "a=group:BUNDLE 1");
}

export interface CallAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** The error body, when the answer is one. */
  error?: { message: string; type: string; param: string | null; code: string | null };
}

/** POSTs a call request to `${url}/v1/realtime/calls` (a raw offer, or a form when `body` is FormData). */
export async function postCall(url: string, body: string | FormData, options: { token?: string; contentType?: string; path?: string } = {}): Promise<CallAnswer> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (typeof body === "string") headers["content-type"] = options.contentType ?? "application/sdp";
  const response = await fetch(`${url}${options.path ?? "/v1/realtime/calls"}`, { method: "POST", headers, body });
  const text = await response.text();
  const error = response.headers.get("content-type")?.startsWith("application/json") ? (JSON.parse(text) as { error: CallAnswer["error"] }).error : undefined;
  return { status: response.status, headers: response.headers, text, ...(error ? { error } : {}) };
}

/** POST …/calls/{id}/hangup. */
export async function hangup(url: string, id: string, token?: string): Promise<number> {
  const response = await fetch(`${url}/v1/realtime/calls/${id}/hangup`, { method: "POST", headers: token ? { authorization: `Bearer ${token}` } : {} });
  await response.arrayBuffer();
  return response.status;
}

/** Whether UDP `port` can be bound on every interface right now (released at once). */
export function udpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket("udp4");
    socket.once("error", () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, () => socket.close(() => resolve(true)));
  });
}

/** `count` consecutive UDP ports, all free now, as `first-last` for EARSHOT_WEBRTC_UDP_PORTS. */
export async function freeUdpRange(count: number): Promise<{ first: number; last: number; setting: string }> {
  for (;;) {
    const first = 40_000 + Math.floor(Math.random() * 20_000);
    const ports = Array.from({ length: count }, (_, i) => first + i);
    if ((await Promise.all(ports.map(udpPortFree))).every(Boolean)) return { first, last: first + count - 1, setting: `${first}-${first + count - 1}` };
  }
}

/** A WebRTC client in Node (werift, the same stack as the server's): an Opus track it fills itself, and `oai-events`. */
export interface NodeCall {
  events: Array<{ type: string; [key: string]: any }>;
  channel: RTCDataChannel;
  /** Sends `count` Opus silence packets of 20 ms from RTP timestamp `from` (48 kHz), as fast as it can. */
  sendSilence(count: number, from: number): Promise<void>;
  close(): Promise<void>;
}

/** An Opus CELT 20-ms frame that decodes to silence. */
const OPUS_SILENCE = Buffer.from([0xf8, 0xff, 0xfe]);

/** Opens a call to `url` from Node: the offer (with `session` as a form when given), the answer, the data channel open. */
export async function openNodeCall(url: string, options: { token?: string; session?: unknown } = {}): Promise<NodeCall> {
  const pc = new RTCPeerConnection({ codecs: { audio: [useOPUS()], video: [] }, iceServers: [], iceUseIpv4: false, iceUseIpv6: false, iceAdditionalHostAddresses: ["127.0.0.1"] });
  const transceiver = pc.addTransceiver("audio", { direction: "sendonly" });
  const channel = pc.createDataChannel("oai-events");
  const events: NodeCall["events"] = [];
  channel.onMessage.subscribe((data) => events.push(JSON.parse(String(data)) as NodeCall["events"][number]));
  const opened = new Promise<void>((resolve) => channel.stateChanged.subscribe((state) => state === "open" && resolve()));
  await pc.setLocalDescription(await pc.createOffer());
  const offer = pc.localDescription!.sdp;
  let body: string | FormData = offer;
  if (options.session !== undefined) {
    body = new FormData();
    body.set("sdp", offer);
    body.set("session", JSON.stringify(options.session));
  }
  const answer = await postCall(url, body, options.token ? { token: options.token } : {});
  if (answer.status !== 201) throw new Error(`call refused: ${answer.status} ${answer.text}`);
  await pc.setRemoteDescription({ type: "answer", sdp: answer.text });
  await opened;
  let sequence = 0;
  return {
    events,
    channel,
    async sendSilence(count, from) {
      for (let i = 0; i < count; i++) {
        const header = new RtpHeader({ payloadType: 111, sequenceNumber: sequence++ & 0xffff, timestamp: (from + i * 960) >>> 0 });
        await transceiver.sender.sendRtp(new RtpPacket(header, OPUS_SILENCE));
        if (i % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
      }
    },
    // As a browser's pc.close() does: the data channel closes first (werift's own close sends nothing the peer sees).
    async close() {
      channel.close();
      await new Promise((resolve) => setTimeout(resolve, 200));
      await pc.close();
    },
  };
}
