// `earshot models list|pull|rm`: the catalog (Whisper, Parakeet and the ONNX speaker models) with installed status,
// resumable verified downloads (a progress bar on a terminal, plain lines otherwise), and removal.

import cliProgress from "cli-progress";
import type { Command } from "commander";

import {
  DEFAULT_BASE_URLS,
  isSpeakerModelEntry,
  type ModelEngine,
  modelUrl,
  PULLABLE_CATALOG,
  PULLABLE_MODEL_NAMES,
  type PullableEntry,
  pullableEntry,
  type SpeakerModelKind,
} from "../../models/catalog.js";
import { describeChecks } from "../../models/checksums.js";
import { SPEAKER_MODEL_KINDS } from "../../models/diarizationCatalog.js";
import { fileSize } from "../../models/downloadPlan.js";
import { downloadModel, type DownloadResult } from "../../models/downloadModel.js";
import { ModelDownloadAbortedError, UnknownModelError } from "../../models/errors.js";
import { listLocalModels, modelPaths, removeModel } from "../../models/modelStore.js";
import { settingOption } from "../settingOptions.js";
import { fail, formatBytes, guarded, line, type ModelsCommandIO, settings } from "./modelsCommandIO.js";
import { registerQuantizeCommand } from "./modelsQuantize.js";

interface DirOption {
  modelsDir?: string;
}
interface ListOptions extends DirOption {
  json?: boolean;
}
interface PullOptions extends DirOption {
  baseUrl?: string;
  force?: boolean;
  sha256?: string;
  progress: boolean;
}

export { type CommandOutput, formatBytes, type ModelsCommandIO } from "./modelsCommandIO.js";

// ---- list -------------------------------------------------------------------------------------

/** A part of the table: a transcription engine's models, or one kind of speaker model. */
type ListGroup = ModelEngine | SpeakerModelKind;

/** The heading of each part of the table (the rows keep their old shape). */
const GROUP_TITLES: Readonly<Record<ListGroup, string>> = {
  whisper: "Whisper (engine whisper)",
  parakeet: "NVIDIA Parakeet TDT (engine parakeet)",
  segmentation: `Speaker segmentation (kind segmentation, onnxruntime; ${SPEAKER_MODEL_KINDS.segmentation.setting})`,
  "speaker-embedding": `Speaker embedding (kind speaker-embedding, onnxruntime; ${SPEAKER_MODEL_KINDS["speaker-embedding"].setting})`,
};

function groupOf(entry: PullableEntry): ListGroup {
  return isSpeakerModelEntry(entry) ? entry.kind : entry.engine;
}

/** The server a part of the table downloads from when no mirror is configured (a speaker kind's is shared by its models). */
function groupSource(group: readonly PullableEntry[]): string {
  return [...new Set(group.map((entry) => entry.defaultBaseUrl))].join(", ");
}

/** Where a catalog model stands in the models directory: installed (its path), partly downloaded (bytes), or neither. */
async function localStatus(entry: PullableEntry, dir: string): Promise<{ path: string | undefined; partialBytes: number | undefined }> {
  const { path: file, partialPath } = modelPaths(entry.name, dir);
  const [size, partial] = await Promise.all([fileSize(file), fileSize(partialPath)]);
  return { path: size > 0 ? file : undefined, partialBytes: partial > 0 ? partial : undefined };
}

async function listModels(io: ModelsCommandIO, opts: ListOptions): Promise<void> {
  const { modelsDir: dir, modelsBaseUrl: baseUrl } = settings(io, opts);
  const installed = await listLocalModels(dir);
  const rows = await Promise.all(PULLABLE_CATALOG.map(async (entry) => ({ entry, ...(await localStatus(entry, dir)) })));
  const others = installed.filter((m) => !m.catalog);

  if (opts.json) {
    const json = {
      modelsDir: dir,
      baseUrl: baseUrl ?? null,
      models: rows.map(({ entry, path, partialBytes }) => ({
        name: entry.name,
        kind: isSpeakerModelEntry(entry) ? entry.kind : "transcription",
        engine: isSpeakerModelEntry(entry) ? "onnxruntime" : entry.engine,
        fileName: entry.fileName,
        sizeBytes: entry.sizeBytes,
        multilingual: isSpeakerModelEntry(entry) ? null : entry.multilingual,
        languages: isSpeakerModelEntry(entry) ? null : (entry.languages ?? null),
        ...(isSpeakerModelEntry(entry) ? { trainedOn: entry.trainedOn } : {}),
        quantization: entry.quantization ?? null,
        license: entry.license,
        source: entry.source,
        convertedFrom: entry.convertedFrom,
        sha256: entry.sha256 ?? null,
        sha1: isSpeakerModelEntry(entry) ? null : (entry.sha1 ?? null),
        url: modelUrl(entry.name, baseUrl),
        installed: path !== undefined,
        path: path ?? null,
        partialBytes: partialBytes ?? null,
      })),
      otherLocalModels: others.map((m) => ({ name: m.name, path: m.path, sizeBytes: m.sizeBytes })),
    };
    line(io.stdout, JSON.stringify(json, null, 2));
    return;
  }

  line(io.stdout, `Models directory: ${dir}`);
  line(io.stdout, `Download source:  ${baseUrl ?? "each engine's repository (below)"}`);
  const nameWidth = Math.max(...PULLABLE_MODEL_NAMES.map((n) => n.length), 4) + 2;
  for (const key of Object.keys(GROUP_TITLES) as ListGroup[]) {
    const group = rows.filter(({ entry }) => groupOf(entry) === key);
    const from = baseUrl ?? (key === "whisper" || key === "parakeet" ? DEFAULT_BASE_URLS[key] : groupSource(group.map(({ entry }) => entry)));
    line(io.stdout);
    line(io.stdout, `${GROUP_TITLES[key]}: license ${[...new Set(group.map(({ entry }) => entry.license))].join(", ")}; from ${from}`);
    line(io.stdout, `${"NAME".padEnd(nameWidth)}${"SIZE".padEnd(11)}STATUS`);
    for (const { entry, path, partialBytes } of group) {
      const status = path ? "installed" : partialBytes ? `partial download (${Math.floor((100 * partialBytes) / entry.sizeBytes)}%)` : "-";
      const unpinned = entry.sha256 === undefined ? "  (no published SHA-256: pull with --sha256)" : "";
      line(io.stdout, `${entry.name.padEnd(nameWidth)}${formatBytes(entry.sizeBytes).padEnd(11)}${status}${unpinned}`);
    }
  }
  if (others.length > 0) {
    line(io.stdout);
    line(io.stdout, "Other ggml files in the models directory:");
    for (const m of others) line(io.stdout, `  ${m.name.padEnd(nameWidth)}${formatBytes(m.sizeBytes).padEnd(11)}${m.path}`);
  }
  line(io.stdout);
  line(io.stdout, 'Pull one with "earshot models pull <name>"; any local ggml file also works with --model /path/to/file.bin,');
  line(io.stdout, "and any local speaker model with --segmentation-model / --speaker-embedding-model /path/to/file.onnx.");
}

// ---- pull -------------------------------------------------------------------------------------

/** Shows download progress: a cli-progress bar on a terminal, a line per 10% otherwise. */
interface ProgressView {
  start(resumeFrom: number, total: number, restarted: boolean): void;
  update(received: number, total: number): void;
  stop(): void;
}

function barView(io: ModelsCommandIO, entry: PullableEntry): ProgressView {
  const bar = new cliProgress.SingleBar(
    {
      stream: io.stderr as unknown as NodeJS.WritableStream,
      format: `${entry.name} [{bar}] {percentage}% | {done} of {size} | ETA {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let total = entry.sizeBytes;
  return {
    start(resumeFrom, t, restarted) {
      total = t;
      if (restarted) line(io.stderr, `${entry.name}: the server does not support resuming; downloading from the start`);
      else if (resumeFrom > 0) line(io.stderr, `${entry.name}: resuming at ${formatBytes(resumeFrom)}`);
      bar.start(total, resumeFrom, { done: formatBytes(resumeFrom), size: formatBytes(total) });
    },
    update(received, t) {
      if (t !== total) {
        total = t;
        bar.setTotal(t);
      }
      bar.update(received, { done: formatBytes(received), size: formatBytes(total) });
    },
    stop() {
      bar.stop();
    },
  };
}

function plainView(io: ModelsCommandIO, entry: PullableEntry): ProgressView {
  let nextTenth = 1;
  return {
    start(resumeFrom, total, restarted) {
      if (restarted) line(io.stderr, `${entry.name}: the server does not support resuming; downloading from the start`);
      else if (resumeFrom > 0) line(io.stderr, `${entry.name}: resuming at ${formatBytes(resumeFrom)} of ${formatBytes(total)}`);
      nextTenth = Math.floor((10 * resumeFrom) / total) + 1;
    },
    update(received, total) {
      const tenth = Math.floor((10 * received) / total);
      if (tenth < nextTenth || nextTenth > 10) return;
      nextTenth = tenth + 1;
      line(io.stderr, `${entry.name}: ${Math.min(100, tenth * 10)}% (${formatBytes(received)} of ${formatBytes(total)})`);
    },
    stop() {},
  };
}

/**
 * Aborts `controller` on Ctrl-C (or SIGTERM) until the returned function is called, so an
 * interrupted pull keeps its `.partial` file and says how to resume.
 */
function abortOnSignals(controller: AbortController): () => void {
  const onSignal = (signal: NodeJS.Signals): void => controller.abort(new Error(`interrupted by ${signal}`));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  return () => {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
  };
}

async function pullOne(io: ModelsCommandIO, entry: PullableEntry, dir: string, baseUrl: string | undefined, opts: PullOptions): Promise<DownloadResult> {
  const useBar = opts.progress && io.stderr.isTTY === true;
  const view = useBar ? barView(io, entry) : plainView(io, entry);
  const controller = new AbortController();
  const release = abortOnSignals(controller);
  let started = false;
  try {
    line(io.stderr, `Downloading ${entry.name} from ${modelUrl(entry.name, baseUrl)}`);
    return await downloadModel(entry.name, {
      dir,
      baseUrl,
      signal: controller.signal,
      force: opts.force === true,
      ...(opts.sha256 !== undefined ? { expectedSha256: opts.sha256 } : {}),
      onStart: ({ resumeFrom, totalBytes, restarted }) => {
        started = true;
        if (opts.progress) view.start(resumeFrom, totalBytes ?? entry.sizeBytes, restarted);
      },
      onProgress: (received, total) => {
        if (started && opts.progress) view.update(received, total ?? entry.sizeBytes);
      },
    });
  } finally {
    release();
    if (started && opts.progress) view.stop();
  }
}

async function pullModels(io: ModelsCommandIO, names: string[], opts: PullOptions): Promise<void> {
  const { modelsDir: dir, modelsBaseUrl: baseUrl } = settings(io, opts);
  const unknown = names.filter((name) => !pullableEntry(name));
  if (unknown.length > 0) {
    // Nothing is downloaded when any name is wrong: a typo should not cost a long download first.
    for (const name of unknown) fail(io, new UnknownModelError(name, dir, PULLABLE_MODEL_NAMES));
    return;
  }
  if (opts.sha256 !== undefined && names.length > 1) {
    throw new Error("--sha256 applies to a single model: pull one model at a time with it");
  }
  if (opts.sha256 === undefined) {
    // Likewise a model with no published SHA-256 that is not installed is refused before anything is downloaded:
    // downloadModel answers such a call without a request (installed: it says so; else it throws why not).
    const unpinned = names.filter((name) => pullableEntry(name)?.sha256 === undefined);
    let refused = false;
    for (const name of unpinned) {
      await downloadModel(name, { dir, baseUrl, force: opts.force === true }).catch((err: unknown) => {
        refused = true;
        fail(io, err);
      });
    }
    if (refused) return;
  }
  for (const name of names) {
    const entry = pullableEntry(name) as PullableEntry;
    try {
      const result = await pullOne(io, entry, dir, baseUrl, opts);
      if (result.alreadyInstalled) {
        line(io.stdout, `${entry.name} is already installed: ${result.path} (use --force to download it again)`);
        continue;
      }
      line(io.stdout, `Installed ${entry.name}: ${result.path} (${formatBytes(result.sizeBytes)})`);
      line(io.stdout, `  sha256 ${result.sha256}, ${describeChecks(result.checks)}`);
      line(io.stdout, `  license ${entry.license} (${entry.convertedFrom}), published at ${entry.source}`);
      if (isSpeakerModelEntry(entry)) {
        const { setting, flag } = SPEAKER_MODEL_KINDS[entry.kind];
        line(io.stdout, `  a ${entry.kind} model for diarization: ${setting}=${entry.name} (or ${flag} ${entry.name})`);
      }
    } catch (err) {
      fail(io, err);
      if (err instanceof ModelDownloadAbortedError) return;
    }
  }
}

// ---- rm ---------------------------------------------------------------------------------------

async function removeModels(io: ModelsCommandIO, names: string[], opts: DirOption): Promise<void> {
  const { modelsDir: dir } = settings(io, opts);
  for (const name of names) {
    try {
      const removed = await removeModel(name, dir);
      for (const file of removed) line(io.stdout, `Removed ${file}`);
    } catch (err) {
      fail(io, err);
    }
  }
}

// ---- registration -----------------------------------------------------------------------------

/**
 * Adds `models list`, `models pull <name...>`, `models rm <name...>` and `models quantize <name> <type>` to `program`.
 * The models directory comes from `--models-dir`, else `EARSHOT_MODELS_DIR` (environment, then `.env`
 * in the working directory), else the XDG cache; the download server from `--base-url`, else
 * `EARSHOT_MODELS_BASE_URL` (likewise), else Hugging Face. Both are read through src/config.ts.
 * Failures print one `error: ...` line to stderr and set `process.exitCode` (1; 130 when interrupted).
 * @param io where to write, which environment to read and where `.env` is; defaults to the process's.
 */
export function registerModelsCommand(program: Command, io: Partial<ModelsCommandIO> = {}): void {
  const ctx: ModelsCommandIO = {
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    env: io.env ?? process.env,
    cwd: io.cwd ?? process.cwd(),
  };
  const models = program
    .command("models")
    .description("list, download, quantize and remove models (Whisper and Parakeet ggml files, ONNX speaker models for diarization)");

  models
    .command("list")
    .alias("ls")
    .description("show the model catalog, what is installed, and the models directory")
    .addOption(settingOption("modelsDir"))
    .option("--json", "print JSON instead of a table")
    .action(async (opts: ListOptions) => guarded(ctx, () => listModels(ctx, opts)));

  models
    .command("pull")
    .description(`download models from their repositories (resumable, SHA-256 verified); known: ${PULLABLE_MODEL_NAMES.join(", ")}`)
    .argument("<name...>", "model names, e.g. base.en, large-v3-turbo-q5_0 or pyannote-segmentation-3.0")
    .addOption(settingOption("modelsDir"))
    .addOption(settingOption("modelsBaseUrl"))
    .option("--sha256 <hex>", "expected SHA-256 of the file, instead of earshot's built-in value (one model only)")
    .option("--force", "download again even if the model is installed")
    .option("--no-progress", "do not show download progress")
    .action(async (names: string[], opts: PullOptions) => guarded(ctx, () => pullModels(ctx, names, opts)));

  models
    .command("rm")
    .alias("remove")
    .description("delete installed models (and unfinished downloads) from the models directory")
    .argument("<name...>", "model names")
    .addOption(settingOption("modelsDir"))
    .action(async (names: string[], opts: DirOption) => guarded(ctx, () => removeModels(ctx, names, opts)));

  registerQuantizeCommand(models, ctx);
}
