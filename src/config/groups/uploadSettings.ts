// Settings table, group "Uploads and limits": what one transcription upload, and all of them together, may take.
import { z } from "zod";

import { DEFAULT_MAX_DURATION_SECONDS } from "../../audio/index.js";
import { positiveInt } from "../schemas.js";
import type { Setting } from "../setting.js";

export const uploadSettings = {
  maxUploadMb: {
    env: "EARSHOT_MAX_UPLOAD_MB",
    flag: "--max-upload-mb <mb>",
    commands: ["serve"],
    schema: z.coerce.number().positive().max(100_000).default(25),
    doc: "largest upload of a transcription or translation, MB",
    note: "413 as soon as the bytes pass it (a declared `Content-Length` above it: before the body). Batch jobs have their own, `EARSHOT_JOBS_MAX_UPLOAD_MB`.",
  },
  maxDecodedSeconds: {
    env: "EARSHOT_MAX_DECODED_SECONDS",
    flag: "--max-decoded-seconds <s>",
    commands: ["serve"],
    schema: z.coerce.number().positive().max(24 * 3600).default(DEFAULT_MAX_DURATION_SECONDS),
    doc: "longest audio one upload may decode to, seconds",
    note: "413 `too_long`: from the header when the container declares its length, else once that much has been decoded.",
  },
  maxDecodedAudioMb: {
    env: "EARSHOT_MAX_DECODED_AUDIO_MB",
    flag: "--max-decoded-audio-mb <mb>",
    commands: ["serve"],
    schema: z.coerce.number().positive().max(1_000_000).default(1024),
    doc: "decoded audio (16 kHz float samples) held in memory by all uploads together, MB",
    note:
      "An upload that would pass it gets 429 before its body, or 503 `decoded_audio_budget_exhausted` (with `Retry-After`) " +
      "while decoding. It must hold twice the longest upload (`EARSHOT_MAX_DECODED_SECONDS` of samples, joined once), or startup stops.",
  },
  maxConcurrentDecodes: {
    env: "EARSHOT_MAX_CONCURRENT_DECODES",
    flag: "--max-concurrent-decodes <n>",
    commands: ["serve"],
    schema: positiveInt.optional(),
    doc: "uploads received and decoded (FFmpeg processes) at once; the next gets 429 before its body is read",
    defaultText: "job slots + queue places",
  },
  uploadIdleTimeoutSeconds: {
    env: "EARSHOT_UPLOAD_IDLE_TIMEOUT_SECONDS",
    flag: "--upload-idle-timeout-seconds <s>",
    commands: ["serve"],
    schema: z.coerce.number().positive().max(86_400).default(30),
    doc: "an upload that sends nothing for this long gets 408",
    note: "408 `upload_idle_timeout`; its decoder is killed and its temp file removed; a request held back by the server's own back-pressure is not idle. Batch job uploads too.",
  },
  uploadTimeoutSeconds: {
    env: "EARSHOT_UPLOAD_TIMEOUT_SECONDS",
    flag: "--upload-timeout-seconds <s>",
    commands: ["serve"],
    schema: z.coerce.number().positive().max(86_400).default(600),
    doc: "an upload not received whole this long after it started gets 408",
    note: "408 `upload_timeout`. Batch job uploads have their own, `EARSHOT_JOBS_UPLOAD_TIMEOUT_SECONDS`.",
  },
} as const satisfies Record<string, Setting>;
