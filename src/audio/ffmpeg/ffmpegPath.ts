// Where the ffmpeg binary lives, and what it can do.

import { execFile } from "node:child_process";
import { createRequire } from "node:module";

import { AudioDecodeError } from "../errors.js";

/**
 * The setting that overrides the bundled ffmpeg (e.g. `/usr/bin/ffmpeg`). src/config.ts reads it
 * (flag, environment or .env) and passes the value down; here it only names the setting in messages.
 */
export const FFMPEG_PATH_ENV = "EARSHOT_FFMPEG_PATH";

let bundledPath: string | null | undefined;

/** Path of the static ffmpeg shipped by `@ffmpeg-installer/ffmpeg`, or null when it is not installed for this platform. */
export function bundledFfmpegPath(): string | null {
  if (bundledPath === undefined) {
    try {
      const require = createRequire(import.meta.url);
      const installer = require("@ffmpeg-installer/ffmpeg") as { path?: unknown };
      bundledPath = typeof installer.path === "string" ? installer.path : null;
    } catch {
      // The installer throws a plain string when no binary exists for this platform.
      bundledPath = null;
    }
  }
  return bundledPath;
}

/**
 * The ffmpeg binary to run: `configured` if given (the EARSHOT_FFMPEG_PATH setting, passed down by
 * the caller), else the bundled one. Throws `AudioDecodeError("ffmpeg_unavailable")` when none is available.
 */
export function resolveFfmpegPath(configured?: string): string {
  const chosen = configured || bundledFfmpegPath();
  if (!chosen) {
    throw new AudioDecodeError(
      "ffmpeg_unavailable",
      `No ffmpeg binary: @ffmpeg-installer/ffmpeg has none for ${process.platform}-${process.arch}; set ${FFMPEG_PATH_ENV} (or --ffmpeg-path)`,
    );
  }
  return chosen;
}

/** What a given ffmpeg binary is and supports. */
export interface FfmpegInfo {
  /** The binary that was checked. */
  path: string;
  /** Version string from the first line of `ffmpeg -version`, e.g. "4.1" or "N-47683-g0e8eb07980-static". */
  version: string;
  /** Whether libsoxr is compiled in (enables `aresample=resampler=soxr`). */
  hasSoxr: boolean;
}

const infoCache = new Map<string, Promise<FfmpegInfo>>();

/**
 * Runs `ffmpeg -version` once per binary (memoized) and reports its version and capabilities.
 * Rejects with `AudioDecodeError("ffmpeg_unavailable")` when the binary cannot be run. Meant for startup checks;
 * `decodeAudio` uses it too, to pick the resampler.
 */
export function checkFfmpeg(options: { ffmpegPath?: string } = {}): Promise<FfmpegInfo> {
  let path: string;
  try {
    path = resolveFfmpegPath(options.ffmpegPath);
  } catch (err) {
    return Promise.reject(err);
  }
  let cached = infoCache.get(path);
  if (!cached) {
    cached = probeFfmpeg(path);
    infoCache.set(path, cached);
    // A failed probe is not cached: the binary may be installed later.
    cached.catch(() => infoCache.delete(path));
  }
  return cached;
}

function probeFfmpeg(path: string): Promise<FfmpegInfo> {
  return new Promise((resolve, reject) => {
    execFile(path, ["-hide_banner", "-version"], { timeout: 15_000, maxBuffer: 1 << 20 }, (err, stdout) => {
      const firstLine = stdout.split("\n", 1)[0] ?? "";
      const match = /^ffmpeg version (\S+)/.exec(firstLine);
      if (err || !match?.[1]) {
        const why = err ? err.message : `unexpected output: ${firstLine.slice(0, 200)}`;
        reject(new AudioDecodeError("ffmpeg_unavailable", `ffmpeg at ${path} is not usable: ${why}`, { cause: err ?? undefined }));
        return;
      }
      resolve({ path, version: match[1], hasSoxr: stdout.includes("--enable-libsoxr") });
    });
  });
}
