// The "Live captions" tab: the microphone → a realtime session (a WebRTC call, or the WebSocket where
// that is not possible: liveLink.js); lines that show the live text of the turn being spoken and settle
// into final ones, a speaking/silent indicator, and a transcript that can be copied or saved.
import { describeMicrophoneError, describeRequestError } from "./errors.js";
import { LiveLink } from "./liveLink.js";
import { byId, copyText, downloadFile, formatClock, h, setMeter, showProblem, timestampName, toast } from "./ui.js";

const STATE_LABELS = {
  off: "Off",
  connecting: "Connecting…",
  silent: "Listening · silent",
  speaking: "Speaking",
  finishing: "Finishing…",
  error: "Stopped",
};

/** What the note under the controls says about the transport in use. */
function transportNote(link) {
  if (link.transport === "webrtc") return "Connected over WebRTC.";
  return `Connected over the WebSocket${link.fallbackReason ? ` (${link.fallbackReason})` : ""}.`;
}

/** How long Stop waits for the turns still being transcribed. */
const FINISH_TIMEOUT_MS = 5000;

export class LivePanel {
  /**
   * @param {{model: () => string, onAuthNeeded: () => void}} deps
   */
  constructor(deps) {
    this.deps = deps;
    /** @type {LiveLink | null} */
    this.session = null;
    /**
     * Each turn's line. Its live text comes from one source: the partial events (agreed words and the grey
     * unstable ones) once one has arrived, else the deltas (the same agreed words, in pieces).
     * @type {Map<string, {element: HTMLElement, text: HTMLElement, partial: string, unstable: string, deltas: string, fromPartials: boolean, final: boolean, startMs: number | null}>}
     */
    this.lines = new Map();
    this.finishing = null;
    this.committing = false;
    this.el = {
      button: byId("live-button"),
      label: byId("live-button").querySelector(".record-label"),
      indicator: byId("live-indicator"),
      transport: byId("live-transport"),
      meter: byId("live-meter"),
      language: byId("live-language"),
      error: byId("live-error"),
      captions: byId("captions"),
      empty: byId("captions-empty"),
      copy: byId("live-copy"),
      save: byId("live-save"),
      clear: byId("live-clear"),
    };
    this.el.button.addEventListener("click", () => {
      if (this.el.button.getAttribute("aria-disabled") === "true") return;
      if (this.session) this.stop();
      else this.start();
    });
    this.el.copy.addEventListener("click", async () => {
      toast((await copyText(this.plainText())) ? "Captions copied" : "Could not copy: select the text and copy it");
    });
    this.el.save.addEventListener("click", () => downloadFile(`${timestampName("captions")}.txt`, this.timedText(), "text/plain;charset=utf-8"));
    this.el.clear.addEventListener("click", () => this.clear());
  }

  setState(state) {
    this.el.indicator.dataset.state = state;
    this.el.indicator.textContent = STATE_LABELS[state] ?? state;
    const running = state !== "off" && state !== "error";
    this.el.button.classList.toggle("recording", running);
    this.el.label.textContent = state === "finishing" ? "Finishing…" : running ? "Stop live captions" : "Start live captions";
    // aria-disabled rather than disabled: the button keeps the keyboard focus.
    if (state === "finishing") this.el.button.setAttribute("aria-disabled", "true");
    else this.el.button.removeAttribute("aria-disabled");
    this.el.language.disabled = running;
  }

  async start() {
    this.el.error.replaceChildren();
    this.showTransport(null);
    this.setState("connecting");
    const session = new LiveLink({
      model: this.deps.model(),
      language: this.el.language.value,
      onEvent: (event) => this.onEvent(event),
      onClose: (info) => this.onClose(session, info),
      onLevel: (level) => setMeter(this.el.meter, level),
      onMicEnded: () => {
        showProblem(this.el.error, { title: "The microphone stopped", detail: "It was disconnected or taken by another app." });
        this.stop();
      },
    });
    this.session = session;
    try {
      await session.startMicrophone();
    } catch (error) {
      this.teardown();
      this.setState("error");
      showProblem(this.el.error, describeMicrophoneError(error));
      return;
    }
    try {
      await session.connect();
    } catch (error) {
      if (this.session !== session) return;
      this.teardown();
      this.setState("error");
      showProblem(this.el.error, this.describeConnectError(error));
      return;
    }
    if (this.session !== session) return;
    this.showTransport(session);
    this.setState("silent");
  }

  /** The transport in use, under the controls and as the indicator's title (null: none yet). */
  showTransport(link) {
    const note = link ? transportNote(link) : "";
    this.el.transport.textContent = note;
    this.el.transport.hidden = !note;
    this.el.transport.dataset.transport = link?.transport ?? "";
    if (note) this.el.indicator.title = note;
    else this.el.indicator.removeAttribute("title");
  }

  describeConnectError(error) {
    if (error?.status === 404) {
      return { title: "Live captions are not available", detail: "This server has no realtime endpoint. Use Transcribe instead, or update Earshot." };
    }
    if (error?.status === 429) {
      return { title: "The server is busy", detail: `It has as many live sessions open as it takes. Try again in ${error.retryAfter ?? "a few"} seconds.` };
    }
    const problem = describeRequestError(error);
    if (problem.kind === "auth") this.deps.onAuthNeeded();
    if (problem.kind === "network") return { title: "Could not connect for live captions", detail: `${error.message} Check that the server is running, then try again.` };
    return problem;
  }

  /** Stops the microphone and closes once the turns in progress are transcribed. */
  async stop() {
    const session = this.session;
    const wasSpeaking = this.el.indicator.dataset.state === "speaking";
    session?.stopMicrophone();
    if (!session) {
      this.setState("off");
      return;
    }
    if (session.open) {
      this.setState("finishing");
      if (wasSpeaking) {
        // Let the last audio go out (the worklet's chunk, the call's packets), then end the turn being spoken.
        await new Promise((resolve) => setTimeout(resolve, 250));
        this.committing = true;
        session.send({ type: "input_audio_buffer.commit" });
      }
      if ([...this.lines.values()].some((line) => !line.final)) {
        await new Promise((resolve) => {
          this.finishing = resolve;
          setTimeout(resolve, FINISH_TIMEOUT_MS);
        });
      }
      this.finishing = null;
      this.committing = false;
    }
    if (this.session !== session) return;
    this.teardown();
    this.setState("off");
  }

  teardown() {
    const session = this.session;
    this.session = null;
    session?.close();
    this.showTransport(null);
    // Lines that never settled keep what was heard so far.
    for (const line of this.lines.values()) if (!line.final) this.settle(line, this.agreedText(line));
  }

  /** The words of a turn agreed so far, from the line's one source. */
  agreedText(line) {
    return line.fromPartials ? line.partial : line.deltas;
  }

  onClose(session, info) {
    if (this.session !== session) return;
    this.teardown();
    this.setState("error");
    showProblem(this.el.error, {
      title: "The live connection closed",
      detail: `${info.reason || "The server ended the session"}${info.code ? ` (code ${info.code})` : ""}. The captions so far are kept; start again to continue.`,
    });
  }

  onEvent(event) {
    switch (event.type) {
      case "input_audio_buffer.speech_started":
        this.line(event.item_id, event.audio_start_ms);
        if (this.session) this.setState("speaking");
        break;
      case "input_audio_buffer.speech_stopped":
        if (this.session) this.setState("silent");
        break;
      case "input_audio_buffer.committed":
        this.line(event.item_id);
        break;
      case "conversation.item.input_audio_transcription.partial": {
        const line = this.line(event.item_id);
        if (line.final) break;
        // From the first partial on, the line shows the partials only: `transcript` holds every agreed word
        // (what the deltas said too), `unstable` the latest pass's guess at the rest, shown lighter.
        line.fromPartials = true;
        line.partial = event.transcript ?? `${line.partial}${event.delta ?? ""}`;
        line.unstable = event.unstable ?? "";
        this.showText(line, line.partial, line.unstable);
        break;
      }
      case "conversation.item.input_audio_transcription.delta": {
        const line = this.line(event.item_id);
        if (line.final) break;
        line.deltas += event.delta ?? "";
        // A server without the partial extension: the deltas are the line's live text.
        if (!line.fromPartials) this.showText(line, line.deltas);
        break;
      }
      case "conversation.item.input_audio_transcription.completed":
        this.settle(this.line(event.item_id), event.transcript ?? "");
        break;
      case "conversation.item.input_audio_transcription.failed": {
        const line = this.line(event.item_id);
        this.settle(line, this.agreedText(line), event.error?.message ?? "could not be transcribed");
        break;
      }
      case "error":
        // Stopping commits the turn in progress; when it had no audio left, nothing is lost.
        if (this.committing && event.error?.code === "input_audio_buffer_commit_empty") break;
        showProblem(this.el.error, { title: "The server reported an error", detail: event.error?.message ?? "unknown error" });
        break;
      default:
        break;
    }
  }

  /** The caption line of a turn, created on first sight. */
  line(itemId, startMs = null) {
    const id = itemId ?? `turn-${this.lines.size}`;
    let line = this.lines.get(id);
    if (line) {
      if (line.startMs === null && startMs !== null) {
        line.startMs = startMs;
        line.time.textContent = formatClock(startMs / 1000);
      }
      return line;
    }
    const time = h("span", { className: "caption-time" }, startMs !== null ? formatClock(startMs / 1000) : "");
    const text = h("span", { className: "caption-text" }, "…");
    const element = h("p", { className: "caption partial", dataset: { itemId: id } }, time, text);
    line = { element, text, time, partial: "", unstable: "", deltas: "", fromPartials: false, final: false, startMs };
    this.lines.set(id, line);
    this.el.empty.hidden = true;
    const captions = this.el.captions;
    const atBottom = captions.scrollHeight - captions.scrollTop - captions.clientHeight < 40;
    captions.append(element);
    if (atBottom) captions.scrollTop = captions.scrollHeight;
    return line;
  }

  showText(line, text, unstable = "") {
    const stable = text.trim();
    const guess = unstable.trim();
    line.text.textContent = stable || (guess ? "" : "…");
    if (guess) line.text.append(h("span", { className: "caption-unstable" }, `${stable ? " " : ""}${guess}`));
    const captions = this.el.captions;
    if (captions.scrollHeight - captions.scrollTop - captions.clientHeight < 80) captions.scrollTop = captions.scrollHeight;
  }

  settle(line, transcript, failure) {
    if (line.final) return;
    line.final = true;
    const text = transcript.trim();
    if (!text && !failure) {
      line.element.remove();
      this.lines.delete(line.element.dataset.itemId ?? "");
    } else {
      line.element.classList.remove("partial");
      line.element.classList.add(failure ? "failed" : "final");
      line.text.textContent = text || `(${failure})`;
      line.settled = text;
    }
    this.updateActions();
    if (this.finishing && [...this.lines.values()].every((each) => each.final)) this.finishing();
  }

  finalLines() {
    return [...this.lines.values()].filter((line) => line.final && line.settled);
  }

  plainText() {
    return this.finalLines()
      .map((line) => line.settled)
      .join("\n");
  }

  timedText() {
    return `${this.finalLines()
      .map((line) => (line.startMs !== null ? `[${formatClock(line.startMs / 1000)}] ${line.settled}` : line.settled))
      .join("\n")}\n`;
  }

  updateActions() {
    const any = this.finalLines().length > 0;
    this.el.copy.disabled = !any;
    this.el.save.disabled = !any;
    this.el.clear.disabled = !any;
  }

  clear() {
    for (const [id, line] of this.lines) {
      if (!line.final) continue;
      line.element.remove();
      this.lines.delete(id);
    }
    this.el.empty.hidden = this.lines.size > 0;
    this.updateActions();
  }
}
