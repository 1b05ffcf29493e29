// The light test files: they start no Earshot server, FFmpeg, engine, Chromium, redis-server or haproxy, so they
// take seconds and may run side by side. vitest.config.ts runs them first (the "light" project) and every other
// file after them, one at a time (the "heavy" project); lightTests.test.ts checks that each one stays light.
// A file may start a loopback HTTP server of its own (a model download server, a webhook receiver): that is cheap.
export const LIGHT_TESTS = [
  "test/architecture.test.ts",
  "test/docs.test.ts",
  "test/lightTests.test.ts",
  "test/cli/settingFlags.test.ts",
  "test/engine/words.test.ts",
  "test/formats/renderers.test.ts",
  "test/formats/streamEvents.test.ts",
  "test/formats/timestamp.test.ts",
  "test/jobs/sqliteBackend.test.ts",
  "test/jobs/webhooks.test.ts",
  "test/models/download.test.ts",
  "test/models/modelsCommand.test.ts",
  "test/models/modelStore.test.ts",
  "test/models/testModel.test.ts",
  "test/realtime/clientSecretStore.test.ts",
  "test/realtime/liveText.test.ts",
  "test/realtime/orderedOutput.test.ts",
  "test/realtime/sessionAudio.test.ts",
  "test/realtime/sessionSettings.test.ts",
  "test/realtime/slicedInput.test.ts",
  "test/realtime/wordAgreement.test.ts",
  "test/server/config.test.ts",
  "test/server/configDocs.test.ts",
  "test/transcription/fieldLimits.test.ts",
  "test/transcription/languages.test.ts",
  "test/transcription/speechChunker.test.ts",
  "test/web/pcmWorklet.test.ts",
];
