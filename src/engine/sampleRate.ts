/**
 * The one sample rate of Earshot's audio: whisper's input and Silero VAD's. Every decoder, resampler, VAD stream,
 * chunk and realtime buffer works on mono float samples at this rate.
 */
export const SAMPLE_RATE = 16_000;
