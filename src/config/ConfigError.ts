/** A setting that cannot be used (a bad value, a missing model file, an unusable directory): startup stops, naming it. */
export class ConfigError extends Error {
  override name = "ConfigError";
}
