// The settings table: every server setting, one row each, in the groups of docs/configuration.md. The zod schema
// and the environment map below, the commander options (src/cli/settingOptions.ts), ConfigError's hint and the
// generated page (configPage.ts) are all read off these rows: add or change a setting here, then run
// `npm run docs:config`.
import { z } from "zod";

import { engineSettings } from "./groups/engineSettings.js";
import { jobSettings } from "./groups/jobSettings.js";
import { modelLoadingSettings } from "./groups/modelLoadingSettings.js";
import { realtimeSettings } from "./groups/realtimeSettings.js";
import { redisSettings } from "./groups/redisSettings.js";
import { serverSettings } from "./groups/serverSettings.js";
import { speakerSettings } from "./groups/speakerSettings.js";
import { tlsSettings } from "./groups/tlsSettings.js";
import { uploadSettings } from "./groups/uploadSettings.js";
import { webhookSettings } from "./groups/webhookSettings.js";
import { webrtcSettings } from "./groups/webrtcSettings.js";
import { wyomingSettings } from "./groups/wyomingSettings.js";
import { flagCommands, flagName, type Setting } from "./setting.js";

/** A heading of the page, the words under it, and its rows. */
export interface SettingGroup {
  readonly title: string;
  readonly intro: string;
  readonly settings: Readonly<Record<string, Setting>>;
}

export const SETTING_GROUPS: readonly SettingGroup[] = [
  { title: "Server", intro: "Where `earshot serve` listens, who may call it, how it logs and how it shuts down.", settings: serverSettings },
  { title: "TLS", intro: "HTTPS and WSS served by Earshot itself (behind a proxy that ends TLS, none of these is needed).", settings: tlsSettings },
  {
    title: "Models and engine",
    intro: "What is served, and how whisper.cpp runs it: job slots, threads, GPU. `earshot transcribe` reads these too.",
    settings: engineSettings,
  },
  {
    title: "Models on demand",
    intro: "Which models load at start, when the others load and unload, and the memory they may take together. See [Models on demand](model-loading.md).",
    settings: modelLoadingSettings,
  },
  {
    title: "Speakers",
    intro:
      "The speaker models with which `diarized_json` tells voices apart in any recording, mono included, and how turns cluster into speakers and take names. " +
      "See [Speakers](http-api.md#speakers-diarized_json) and [Speaker models](models.md#speaker-models).",
    settings: speakerSettings,
  },
  {
    title: "Uploads and limits",
    intro: "What one upload of `/v1/audio/transcriptions`, `/v1/audio/translations` or `/api/transcribe` may take, and all of them together.",
    settings: uploadSettings,
  },
  { title: "Realtime", intro: "The realtime sessions: WebSockets of `/v1/realtime` and WebRTC calls of `/v1/realtime/calls` alike.", settings: realtimeSettings },
  {
    title: "Realtime over WebRTC",
    intro: "The calls of `POST /v1/realtime/calls`: where their media (UDP) is received. See [WebRTC behind NAT and a load balancer](operations.md#webrtc-calls).",
    settings: webrtcSettings,
  },
  {
    title: "Wyoming (Home Assistant)",
    intro: "The Wyoming speech-to-text listener Home Assistant's voice assistant connects to. See [Home Assistant](home-assistant.md).",
    settings: wyomingSettings,
  },
  {
    title: "Batch jobs",
    intro: "`POST /v1/audio/jobs`, on either backend: embedded (SQLite in the data dir, without `EARSHOT_REDIS_URL`) or Redis.",
    settings: jobSettings,
  },
  {
    title: "Redis and workers",
    intro: "Batch jobs on BullMQ in one Redis, shared by every `earshot serve` and `earshot worker` pointed at it. All but `EARSHOT_REDIS_URL` apply only when it is set.",
    settings: redisSettings,
  },
  { title: "Webhooks", intro: "The signed `POST` (Standard Webhooks) a job with a `webhook_url` sends when it finishes.", settings: webhookSettings },
];

/** Every server setting, by key (the keys of ServerConfig). */
export const SERVER_SETTINGS = {
  ...serverSettings,
  ...tlsSettings,
  ...engineSettings,
  ...modelLoadingSettings,
  ...speakerSettings,
  ...uploadSettings,
  ...realtimeSettings,
  ...webrtcSettings,
  ...wyomingSettings,
  ...jobSettings,
  ...redisSettings,
  ...webhookSettings,
};
export type ServerSettingKey = keyof typeof SERVER_SETTINGS;

/** Raw settings as strings (from flags or the environment) → typed, validated configuration. */
export const serverConfigSchema = z.object(
  Object.fromEntries(Object.entries(SERVER_SETTINGS).map(([key, setting]) => [key, setting.schema])) as {
    [K in ServerSettingKey]: (typeof SERVER_SETTINGS)[K]["schema"];
  },
);

/** Environment variable of each setting. */
export const CONFIG_ENV = Object.fromEntries(Object.entries(SERVER_SETTINGS).map(([key, setting]) => [key, setting.env])) as Record<ServerSettingKey, string>;

/**
 * A setting as error messages name it: `port (flag --port, env EARSHOT_PORT)`. A flag that `earshot serve` does
 * not offer names its command (`workerPort (flag --port of earshot worker, env EARSHOT_WORKER_PORT)`); a setting
 * no command offers a flag for is named by its variable alone.
 */
export function settingLabel(key: string, settings: Readonly<Record<string, Setting>> = SERVER_SETTINGS): string {
  const setting = settings[key]!;
  const commands = flagCommands(setting);
  if (commands.length === 0) return `${key} (env ${setting.env})`;
  const where = commands.includes("serve") ? "" : ` of earshot ${commands.join("/")}`;
  return `${key} (flag ${flagName(setting.flag)}${where}, env ${setting.env})`;
}
