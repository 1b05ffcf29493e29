// Earshot's configuration, the one place EARSHOT_* settings are read: flags > environment > .env
// file > defaults, validated at startup. A bad value stops startup with a message naming it.
// The CLI commands and the server read it here and pass the values down; the lower layers
// (src/audio, src/models, src/engine) never read the environment themselves.
//
// The settings themselves are one table (src/config/settings.ts, a row per setting); the schema, the variable
// names, the commands' flags and docs/configuration.md are derived from it. This module is the public face.
import os from "node:os";

export { CLIENT_CONFIG_ENV, CLIENT_SETTINGS, loadClientConfig, type ClientConfig } from "./config/clientConfig.js";
export { ConfigError } from "./config/ConfigError.js";
export { describeConfig } from "./config/describeConfig.js";
export { DEFAULT_ALIASES } from "./config/groups/engineSettings.js";
export { DEFAULT_CORS_ORIGINS, MIN_API_KEY_LENGTH } from "./config/groups/serverSettings.js";
export { dataDir, loadConfig, loadServerConfig, readDotenv, type ServerConfig, type ServerConfigInput } from "./config/loadConfig.js";
export { redactUrl } from "./config/redactUrl.js";
export { CONFIG_ENV, SERVER_SETTINGS, SETTING_GROUPS, settingLabel, type ServerSettingKey } from "./config/settings.js";

/** Hardware threads of this machine. */
export const hardwareThreads = os.availableParallelism();
