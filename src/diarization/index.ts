// Who spoke when: the speaker models (SpeakerModels, in their own inference thread), one recording's diarization
// (DiarizationRun) and known speakers' names from reference clips (knownSpeakers.ts).
export { type SpeakerCount } from "./clustering.js";
export { DiarizationRun, type Diarization, type DiarizationOptions, type SpeakerSpan } from "./DiarizationRun.js";
export { DiarizationAbortedError, DiarizationError, DiarizationFailedError, DiarizationOverloadedError, SpeakerModelError } from "./errors.js";
export { nameSpeakers, referenceEmbedding, type KnownSpeaker } from "./knownSpeakers.js";
export { SpeakerModels, type SpeakerModelsOptions } from "./SpeakerModels.js";
export type { ModelPaths } from "./worker/protocol.js";
