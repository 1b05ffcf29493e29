// Variables no `earshot` command reads, so none has a flag: the native build's (scripts/build-native.mjs, run by
// `npm ci` and `npm run build:native`), the addon's own (read in C++), and the test setup's. Listed here so that
// docs/configuration.md names every EARSHOT_* variable the code reads (test/server/configDocs.test.ts checks it).
import type { OtherVariable } from "./setting.js";

export interface OtherVariableGroup {
  readonly title: string;
  readonly intro: string;
  readonly variables: readonly OtherVariable[];
}

export const OTHER_VARIABLE_GROUPS: readonly OtherVariableGroup[] = [
  {
    title: "Building the addon",
    intro:
      "Read when whisper.cpp and the N-API addon are compiled: by `npm ci` (the package's install script) and `npm run build:native` " +
      "(`--force` to start over). For example, a CUDA build for an H100 or H200 only:\n\n" +
      '```sh\nEARSHOT_GPU=cuda EARSHOT_CMAKE_ARGS="-DCMAKE_CUDA_ARCHITECTURES=90" npm run build:native -- --force\n```\n\n' +
      "(90: H100 and H200; 89: L4 and RTX 40xx; 86: A10 and RTX 30xx; 80: A100.) Without an architecture ggml compiles for a list of them and takes much longer.",
    variables: [
      {
        env: "EARSHOT_GPU",
        readBy: ["scripts/build-native.mjs"],
        doc: "the build: auto, cpu or cuda; auto builds CUDA when nvcc and an NVIDIA GPU (nvidia-smi) are both present; cuda insists on it",
        note: "At run time `EARSHOT_GPU_OFFLOAD` keeps a CUDA build on the CPU.",
        defaultText: "`auto`",
      },
      {
        env: "EARSHOT_CMAKE_ARGS",
        readBy: ["scripts/build-native.mjs"],
        doc: "more CMake flags, space-separated (e.g. -DCMAKE_CUDA_ARCHITECTURES=90)",
        defaultText: "none",
      },
      {
        env: "EARSHOT_WHISPER_CPP_DIR",
        readBy: ["scripts/build-native.mjs"],
        doc: "build from this whisper.cpp source tree instead",
        defaultText: "the one the `nodejs-whisper` package ships",
      },
      {
        env: "EARSHOT_BUILD_JOBS",
        readBy: ["scripts/build-native.mjs", "scripts/test-other-node.mjs"],
        doc: "parallel compile jobs",
        defaultText: "all cores",
      },
      {
        env: "EARSHOT_SKIP_NATIVE_BUILD",
        readBy: ["scripts/build-native.mjs"],
        doc: "1: the install script does not build the addon",
        defaultText: "off",
      },
    ],
  },
  {
    title: "Diagnostics",
    intro: "Read by the native addon itself.",
    variables: [
      {
        env: "EARSHOT_NATIVE_LOG",
        readBy: ["native/src/NativeLog.cpp"],
        doc: "1 echoes whisper.cpp's own log to stderr",
        defaultText: "off",
      },
    ],
  },
  {
    title: "Tests",
    intro: "Read by `npm test` and its setup (`scripts/ensure-test-services.mjs` installs what is missing where it can).",
    variables: [
      {
        env: "EARSHOT_CHROMIUM_PATH",
        readBy: ["scripts/ensure-test-services.mjs", "test/support/browser.ts"],
        doc: "the Chromium the browser app's tests drive",
        defaultText: "the first found at the usual places (`scripts/chromium-candidates.json`)",
      },
      {
        env: "EARSHOT_REDIS_SERVER",
        readBy: ["test/support/redis.ts"],
        doc: "the redis-server binary the batch-job tests start",
        defaultText: "on `PATH`, else in `/usr/bin` or `/usr/sbin`",
      },
      {
        env: "EARSHOT_AUDIO_MEASUREMENTS",
        readBy: ["test/audio/decodeAudio.test.ts"],
        doc: "1 prints the decoder tests' measured errors",
        defaultText: "off",
      },
    ],
  },
];
