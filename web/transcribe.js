// The "Transcribe" tab: record or pick a file, upload it with progress, show the transcript (by speaker turn when
// "Who spoke" is on), and keep the audio through every failure so it can be sent again or saved.
import { serverAlive, uploadAudio } from "./api.js";
import { describeMicrophoneError, describeRequestError } from "./errors.js";
import { EXPORTS } from "./exports.js";
import { extensionFor, Recorder } from "./recorder.js";
import { isDiarized, SpeakerNames, speakerLabels } from "./speakers.js";
import { TranscriptView } from "./transcriptView.js";
import { byId, copyText, downloadFile, formatBytes, formatClock, setMeter, showProblem, timestampName, toast } from "./ui.js";

/**
 * @typedef {{blob: Blob, name: string, kind: "recording" | "file", seconds?: number, url: string}} Source
 */

export class TranscribePanel {
  /**
   * @param {{options: () => {model: string, language: string, translate: boolean, speakers: boolean, prompt: string}, onAuthNeeded: () => void,
   *          onServerState?: (reachable: boolean) => void}} deps
   */
  constructor(deps) {
    this.deps = deps;
    /** @type {Source | null} */
    this.source = null;
    this.result = null;
    this.job = null;
    this.retryTimer = 0;
    this.recorder = null;
    /** The names given to the speakers of this audio's transcripts: kept while the audio is (a new file starts afresh). */
    this.speakerNames = new SpeakerNames();

    this.el = {
      recordButton: byId("record-button"),
      recordLabel: byId("record-button").querySelector(".record-label"),
      recordMeter: byId("record-meter"),
      recordElapsed: byId("record-elapsed"),
      recordError: byId("record-error"),
      recorderCard: byId("recorder"),
      dropzone: byId("dropzone"),
      chooseFile: byId("choose-file"),
      fileInput: byId("file-input"),
      job: byId("job"),
      jobTitle: byId("job-title"),
      jobSource: byId("job-source"),
      jobProgress: byId("job-progress"),
      jobStage: byId("job-stage"),
      progress: byId("upload-progress"),
      jobError: byId("job-error"),
      jobErrorTitle: byId("job-error-title"),
      jobErrorDetail: byId("job-error-detail"),
      jobRetry: byId("job-retry"),
      jobDownload: byId("job-download"),
      jobCancel: byId("job-cancel"),
      result: byId("result"),
      resultTitle: byId("result-title"),
      resultMeta: byId("result-meta"),
      player: byId("player"),
      segments: byId("segments"),
      transcriptHint: byId("transcript-hint"),
      copy: byId("copy-button"),
      downloadSource: byId("download-source"),
      retranscribe: byId("retranscribe"),
    };
    this.view = new TranscriptView(this.el.segments, this.el.player, "transcript-hint");
    this.wire();
  }

  wire() {
    const el = this.el;
    el.recordButton.addEventListener("click", () => {
      // While the microphone starts the button stays focusable (a disabled button would drop the focus).
      if (el.recordButton.getAttribute("aria-disabled") === "true") return;
      if (this.recorder?.recording) this.stopRecording();
      else this.startRecording();
    });
    el.chooseFile.addEventListener("click", () => el.fileInput.click());
    el.fileInput.addEventListener("change", () => {
      const file = el.fileInput.files?.[0];
      if (file) this.useFile(file);
      el.fileInput.value = "";
    });
    // Drop anywhere on the tab; the drop zone lights up.
    const zone = el.dropzone;
    let depth = 0;
    const hasFiles = (event) => [...(event.dataTransfer?.types ?? [])].includes("Files");
    document.addEventListener("dragenter", (event) => {
      if (!hasFiles(event)) return;
      depth++;
      zone.classList.add("dragging");
    });
    document.addEventListener("dragleave", () => {
      depth = Math.max(0, depth - 1);
      if (depth === 0) zone.classList.remove("dragging");
    });
    document.addEventListener("dragover", (event) => {
      if (hasFiles(event)) event.preventDefault();
    });
    document.addEventListener("drop", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      depth = 0;
      zone.classList.remove("dragging");
      const file = event.dataTransfer?.files?.[0];
      if (file) this.useFile(file);
    });

    el.jobRetry.addEventListener("click", () => this.source && this.transcribe(this.source));
    el.jobDownload.addEventListener("click", () => this.downloadSource());
    el.jobCancel.addEventListener("click", () => this.cancel());
    el.downloadSource.addEventListener("click", () => this.downloadSource());
    el.retranscribe.addEventListener("click", () => this.source && this.transcribe(this.source));
    el.copy.addEventListener("click", async () => {
      if (!this.result) return;
      toast((await copyText(EXPORTS.txt.render(this.result, this.speakerNames).trim())) ? "Transcript copied" : "Could not copy: select the text and copy it");
    });
    for (const button of el.result.querySelectorAll("[data-export]")) {
      button.addEventListener("click", () => this.export(button.getAttribute("data-export")));
    }
    window.addEventListener("beforeunload", (event) => {
      if (this.recorder?.recording || this.job) event.preventDefault();
    });
  }

  // ---- recording ----

  async startRecording() {
    const el = this.el;
    el.recordError.textContent = "";
    el.recordButton.setAttribute("aria-disabled", "true");
    el.recordLabel.textContent = "Starting…";
    const recorder = new Recorder({
      onLevel: (level) => setMeter(el.recordMeter, level),
      onTick: (seconds) => (el.recordElapsed.textContent = formatClock(seconds)),
      onInterrupted: (error) => {
        toast(`Recording stopped: ${error.message}`);
        this.stopRecording();
      },
    });
    try {
      await recorder.start();
    } catch (error) {
      el.recordButton.removeAttribute("aria-disabled");
      el.recordLabel.textContent = "Start recording";
      const problem = describeMicrophoneError(error);
      showProblem(el.recordError, problem);
      el.recorderCard.dataset.state = problem.kind;
      return;
    }
    this.recorder = recorder;
    el.recorderCard.dataset.state = "recording";
    el.recordButton.removeAttribute("aria-disabled");
    el.recordButton.classList.add("recording");
    el.recordLabel.textContent = "Stop and transcribe";
    el.recordElapsed.textContent = "0:00";
  }

  async stopRecording() {
    const recorder = this.recorder;
    if (!recorder) return;
    this.recorder = null;
    const el = this.el;
    const seconds = recorder.elapsed;
    el.recordButton.classList.remove("recording");
    el.recordLabel.textContent = "Start recording";
    el.recorderCard.dataset.state = "";
    const blob = await recorder.stop();
    if (blob.size === 0) {
      showProblem(el.recordError, { title: "Nothing was recorded", detail: "The microphone gave no audio. Check it and try again." });
      return;
    }
    const name = `${timestampName("recording")}.${extensionFor(blob.type)}`;
    this.transcribe(this.setSource({ blob, name, kind: "recording", seconds }));
  }

  useFile(file) {
    this.transcribe(this.setSource({ blob: file, name: file.name || "audio", kind: "file" }));
  }

  /** Replaces the current audio (its object URL goes with it). */
  setSource(source) {
    if (this.source) URL.revokeObjectURL(this.source.url);
    this.source = { ...source, url: URL.createObjectURL(source.blob) };
    this.speakerNames = new SpeakerNames();
    return this.source;
  }

  downloadSource() {
    if (this.source) downloadFile(this.source.name, this.source.blob);
  }

  // ---- upload and transcription ----

  describeSource(source) {
    const parts = [source.kind === "recording" ? "Your recording" : source.name];
    if (source.seconds) parts.push(formatClock(source.seconds));
    parts.push(formatBytes(source.blob.size));
    return parts.join(" · ");
  }

  /** Sends `source` to the server and shows the transcript; failures keep the audio. */
  async transcribe(source) {
    this.cancel({ quiet: true });
    const el = this.el;
    const options = this.deps.options();
    const controller = new AbortController();
    const job = { controller, startedAt: 0, ticker: 0 };
    this.job = job;

    el.result.hidden = true;
    el.job.hidden = false;
    el.job.dataset.state = "uploading";
    delete el.job.dataset.problem;
    el.jobTitle.textContent = options.translate ? "Translating" : "Transcribing";
    el.jobSource.textContent = this.describeSource(source);
    el.jobProgress.hidden = false;
    el.jobError.hidden = true;
    el.jobRetry.hidden = true;
    el.jobDownload.hidden = true;
    el.jobCancel.hidden = false;
    el.jobCancel.textContent = "Cancel";
    el.progress.value = 0;
    el.progress.max = 100;
    el.jobStage.textContent = "Uploading… 0%";

    try {
      const result = await uploadAudio({
        blob: source.blob,
        filename: source.name,
        ...options,
        signal: controller.signal,
        onProgress: (fraction) => {
          if (this.job !== job || el.job.dataset.state !== "uploading") return;
          const percent = Math.round(fraction * 100);
          el.progress.value = percent;
          el.jobStage.textContent = `Uploading… ${percent}%`;
        },
        onUploaded: () => {
          if (this.job !== job) return;
          el.job.dataset.state = "transcribing";
          el.progress.removeAttribute("value"); // indeterminate
          job.startedAt = performance.now();
          const verb = options.translate ? "Translating" : "Transcribing";
          const tick = () => (el.jobStage.textContent = `${verb}… ${formatClock((performance.now() - job.startedAt) / 1000)}`);
          tick();
          job.ticker = setInterval(tick, 500);
        },
      });
      if (this.job !== job) return;
      this.finishJob(job);
      this.deps.onServerState?.(true);
      this.showResult(source, result, options, job.startedAt ? (performance.now() - job.startedAt) / 1000 : null);
    } catch (error) {
      if (this.job !== job) return;
      this.finishJob(job);
      if (error?.name === "AbortError") return;
      let problem = describeRequestError(error, { bytes: source.blob.size, speakers: options.speakers && !options.translate });
      // A connection cut mid-upload by a server that is up: most likely a limit on the upload's size
      // (the browser may lose the 413 when the server closes before the body is sent).
      if (problem.kind === "network" && el.job.dataset.state === "uploading" && (await serverAlive())) {
        if (this.job !== null) return;
        problem = {
          kind: "network",
          title: "The upload was cut off",
          detail: `The server is running but closed the connection during the upload: this file (${formatBytes(source.blob.size)}) may be larger than it accepts (--max-upload-mb), or a proxy limits uploads. Your audio is kept here.`,
        };
      }
      this.showJobError(source, problem);
    }
  }

  finishJob(job) {
    clearInterval(job.ticker);
    if (this.job === job) this.job = null;
  }

  /** Stops the upload or the pending retry; the audio stays, ready to be sent again. */
  cancel({ quiet = false } = {}) {
    clearInterval(this.retryTimer);
    this.retryTimer = 0;
    const job = this.job;
    if (job) {
      this.finishJob(job);
      job.controller.abort();
    }
    if (quiet || !this.source) return;
    this.showStopped(this.source, {
      state: "cancelled",
      heading: "Not transcribed",
      title: "Cancelled",
      detail: "Nothing was transcribed. Your audio is still here.",
      retryLabel: "Transcribe",
      canRetry: true,
    });
  }

  /** The job card once the job has stopped without a transcript: why, and whether it can be sent again (the audio stays). */
  showStopped(source, { state, heading, title, detail, retryLabel, canRetry }) {
    const el = this.el;
    el.job.dataset.state = state;
    el.jobTitle.textContent = heading;
    el.jobProgress.hidden = true;
    el.jobError.hidden = false;
    el.jobErrorTitle.textContent = title;
    el.jobErrorDetail.textContent = detail;
    el.jobRetry.hidden = !canRetry;
    el.jobRetry.textContent = retryLabel;
    el.jobDownload.hidden = source.kind !== "recording";
    el.jobCancel.hidden = true;
  }

  showJobError(source, problem) {
    const el = this.el;
    // A 401 is handled by onAuthNeeded below; reporting the server as up would reload the models and
    // replace its message.
    if (problem.kind !== "auth") this.deps.onServerState?.(problem.kind !== "network");
    this.showStopped(source, {
      state: "error",
      heading: problem.kind === "busy" ? "Waiting for the server" : "Not transcribed",
      title: problem.title,
      detail: problem.detail,
      retryLabel: "Try again",
      canRetry: problem.kind !== "too_large" && problem.kind !== "unsupported",
    });
    el.job.dataset.problem = problem.kind;
    if (problem.kind === "auth") this.deps.onAuthNeeded();
    if (problem.kind === "busy" && problem.retryAfter) {
      // Retry by itself after the time the server asked for; the person can retry now or cancel.
      let left = problem.retryAfter;
      const base = problem.detail;
      const show = () => (el.jobErrorDetail.textContent = `${base} Retrying in ${left} s…`);
      show();
      el.jobRetry.textContent = "Retry now";
      el.jobCancel.hidden = false;
      el.jobCancel.textContent = "Cancel";
      this.retryTimer = setInterval(() => {
        left--;
        if (left > 0) return show();
        clearInterval(this.retryTimer);
        this.retryTimer = 0;
        this.transcribe(source);
      }, 1000);
    } else {
      el.jobRetry.focus({ preventScroll: true });
    }
  }

  showResult(source, result, options, seconds) {
    const el = this.el;
    this.result = result;
    el.job.hidden = true;
    el.job.dataset.state = "";
    el.result.hidden = false;
    if (el.player.src !== source.url) el.player.src = source.url;
    const language = result.language ? `${result.language[0].toUpperCase()}${result.language.slice(1)}` : null;
    const diarized = isDiarized(result);
    const speakers = diarized ? speakerLabels(result.segments).length : 0;
    const meta = [
      language,
      diarized ? `${speakers} ${speakers === 1 ? "speaker" : "speakers"}` : null,
      Number.isFinite(result.duration) ? formatClock(result.duration) : null,
      options.model,
      seconds !== null ? `took ${seconds.toFixed(1)} s` : null,
      options.translate ? "translated to English" : null,
    ].filter(Boolean);
    el.resultMeta.textContent = meta.join(" · ");
    el.resultTitle.textContent = source.kind === "recording" ? "Transcript of your recording" : `Transcript of ${source.name}`;
    el.downloadSource.textContent = source.kind === "recording" ? "Download recording" : "Download audio";
    el.transcriptHint.textContent = diarized
      ? "Click a time to play from there. Click a speaker's name to rename them: every turn and export follows."
      : "Click a time or a word to play from there.";
    this.view.render(result, this.speakerNames);
    el.resultTitle.focus({ preventScroll: true });
    el.result.scrollIntoView({ block: "start", behavior: "smooth" });
  }

  export(format) {
    const exporter = EXPORTS[format];
    if (!exporter || !this.result || !this.source) return;
    const base = this.source.name.replace(/\.[^.]+$/, "") || "transcript";
    downloadFile(`${base}.${format}`, exporter.render(this.result, this.speakerNames), exporter.type);
  }
}
