import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { AddonNotBuiltError } from "./errors.js";
import type { NativeAddon } from "./nativeTypes.js";

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Where scripts/build-native.mjs puts the compiled addon. */
export const addonPath = path.join(packageRoot, "build", "native", "earshot.node");

let cached: NativeAddon | undefined;

/** Loads the native addon once per process. */
export function loadAddon(): NativeAddon {
  if (cached) return cached;
  if (!fs.existsSync(addonPath)) throw new AddonNotBuiltError(addonPath);
  const require = createRequire(import.meta.url);
  cached = require(addonPath) as NativeAddon;
  return cached;
}
