// Realtime over WebRTC, on OpenAI's wire: POST /v1/realtime/calls answers a browser's SDP offer (201, the answer as
// `application/sdp`, the call's path in `Location`) and POST /v1/realtime/calls/{call_id}/hangup ends a call. A call
// is admitted as a socket is (upgradeAdmission.ts: Origin, an API key or a client secret whose settings it opens,
// `?model=`, the shares; 503 while the server drains) and carries the same RealtimeSession: its events on the
// `oai-events` data channel, its audio the microphone's Opus track (WebRtcCalls.ts, callChannel.ts).
import type { FastifyPluginAsync, FastifyRequest } from "fastify";

import { callNotFound, shuttingDown } from "../../../api/errors.js";
import { applyGaSession } from "../../../api/realtimeSession.js";
import { checkSdpOffer, MAX_SDP_BYTES } from "../../../api/sdpOffer.js";
import { bearerToken } from "../../auth.js";
import type { ServerContext } from "../../serverContext.js";
import { sessionConfig } from "../clientSecretRoutes.js";
import type { RealtimeSessions } from "../RealtimeSessions.js";
import { type Admission, checkOrigin, identifyCaller, sessionAdmission, type SessionCaller } from "../upgradeAdmission.js";
import { readCallRequest, readLimited } from "./callRequest.js";
import type { WebRtcSettings } from "./peerConnection.js";
import { WebRtcCalls } from "./WebRtcCalls.js";


/** What the call routes need of the server. */
export type CallRouteDeps = Pick<
  ServerContext,
  "transcription" | "loadVad" | "realtimeLimits" | "metrics" | "apiKeys" | "clientSecrets" | "corsOrigins" | "models" | "admission"
> & { webrtc: WebRtcSettings; sessions: RealtimeSessions };

const MISSING_KEY = "You didn't provide an API key. Use an Authorization: Bearer header with an API key or an ephemeral client secret (POST /v1/realtime/client_secrets).";

/** The caller of a call route: an API key, a client secret (verified here), or nobody on an open server. */
function callerOf(request: FastifyRequest, deps: CallRouteDeps): SessionCaller {
  checkOrigin(request.raw, deps);
  return identifyCaller(bearerToken(request.headers.authorization), deps, MISSING_KEY);
}

/** The call's session: what the secret carries (or the defaults), `?model=`, then the form's `session` on top. */
function admitCall(request: FastifyRequest, session: unknown, deps: CallRouteDeps): Admission {
  const admission = sessionAdmission(request.raw, new URL(request.url, "http://localhost"), callerOf(request, deps), deps);
  if (session === undefined) return admission;
  const config = sessionConfig(deps, () => applyGaSession(admission.config, session), "session.audio.input.transcription.model");
  return { ...admission, config };
}

export const registerCallRoutes: FastifyPluginAsync<CallRouteDeps> = async (app, deps) => {
  const calls = new WebRtcCalls(deps, app.log.child({ component: "webrtc" }));
  // The raw offer, bounded (this plugin's own parser: other routes never take application/sdp).
  app.addContentTypeParser("application/sdp", (request, payload, done) => {
    readLimited(payload, MAX_SDP_BYTES, "sdp").then(
      (bytes) => done(null, bytes.toString("utf8")),
      (error: Error) => done(error),
    );
  });

  app.post("/v1/realtime/calls", { config: { access: "client-secret" } }, async (request, reply) => {
    if (deps.admission.draining) throw shuttingDown();
    const form = await readCallRequest(request.raw, request.body);
    const admission = admitCall(request, form.session, deps);
    const { opusPayloadType } = checkSdpOffer(form.sdp);
    const { id, answer } = await calls.open(admission, form.sdp, opusPayloadType);
    return reply.code(201).header("content-type", "application/sdp").header("location", `/v1/realtime/calls/${id}`).send(answer);
  });

  app.post<{ Params: { call_id: string } }>("/v1/realtime/calls/:call_id/hangup", { config: { access: "client-secret" } }, async (request, reply) => {
    const who = callerOf(request, deps);
    if (!calls.hangup(request.params.call_id, who)) throw callNotFound(request.params.call_id);
    return reply.code(200).send();
  });

  // After the drain (the sessions' own): calls still open are closed, then cut off.
  app.addHook("preClose", () => calls.closeAll());
};
