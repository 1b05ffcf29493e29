// A WebRTC call's SDP offer, checked before the WebRTC stack sees it: what a browser sends passes (its Opus payload
// type found), everything else is a 400 naming `sdp` (or the codecs offered, without Opus).
import { describe, expect, it } from "vitest";

import { ApiError } from "../../src/api/errors.js";
import { checkSdpOffer, MAX_SDP_BYTES } from "../../src/api/sdpOffer.js";
import { CHROMIUM_OFFER, offerWithCodecs, offerWithoutAudio } from "../support/webrtc.js";

function refusal(offer: string): ApiError {
  try {
    checkSdpOffer(offer);
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return error as ApiError;
  }
  throw new Error("the offer was accepted");
}

describe("checkSdpOffer", () => {
  it("takes a browser's offer, with CRLF or LF line ends, and finds Opus's payload type", () => {
    expect(checkSdpOffer(CHROMIUM_OFFER)).toEqual({ opusPayloadType: 111 });
    expect(checkSdpOffer(CHROMIUM_OFFER.replaceAll("\r\n", "\n"))).toEqual({ opusPayloadType: 111 });
    // Firefox numbers Opus 109 and writes the ICE credentials and fingerprint at the session level.
    const firefoxLike = offerWithCodecs([{ payloadType: 109, rtpmap: "opus/48000/2" }]);
    expect(checkSdpOffer(firefoxLike)).toEqual({ opusPayloadType: 109 });
    const sessionLevel = CHROMIUM_OFFER.replace(/^a=fingerprint:.*\r\n/gm, "").replace("t=0 0\r\n", `t=0 0\r\n${/^a=fingerprint:.*$/m.exec(CHROMIUM_OFFER)![0]}\r\n`);
    expect(checkSdpOffer(sessionLevel)).toEqual({ opusPayloadType: 111 });
  });

  it("refuses what is not an offer it can answer, naming sdp", () => {
    const cases: Array<[string, RegExp]> = [
      ["hello", /v=0/],
      ["v=0\r\nnot sdp\r\n", /not an SDP line/],
      ["v=0\r\nm=audio nine UDP/TLS/RTP/SAVPF 111\r\n", /media line/],
      [offerWithoutAudio(), /no audio m-line/],
      [CHROMIUM_OFFER.replace("m=audio 9", "m=audio 0"), /no audio m-line/],
      [CHROMIUM_OFFER.replace("a=sendrecv", "a=inactive"), /does not send/],
      [CHROMIUM_OFFER.split("m=application")[0]!, /no data channel/],
      [CHROMIUM_OFFER.replace(/^a=ice-pwd:.*\r\n/gm, ""), /ice-pwd/],
      [CHROMIUM_OFFER + `a=x:${"y".repeat(MAX_SDP_BYTES)}\r\n`, /larger than 64 KB/],
    ];
    for (const [offer, message] of cases) {
      const error = refusal(offer);
      expect(error.status).toBe(400);
      expect(error.param).toBe("sdp");
      expect(error.message).toMatch(message);
    }
    expect(refusal("  ").code).toBe("missing_required_parameter");
  });

  it("names the codecs an offer without Opus has", () => {
    const error = refusal(offerWithCodecs([{ payloadType: 9, rtpmap: "G722/8000" }, { payloadType: 0, rtpmap: "PCMU/8000" }, { payloadType: 8, rtpmap: "PCMA/8000" }]));
    expect(error).toMatchObject({ status: 400, param: "sdp", code: "unsupported_codec" });
    expect(error.message).toMatch(/offers G722, PCMU, PCMA; Earshot takes Opus/);
    // Opus at another rate is not the codec browsers send.
    expect(refusal(offerWithCodecs([{ payloadType: 96, rtpmap: "opus/16000/1" }])).code).toBe("unsupported_codec");
  });
});
