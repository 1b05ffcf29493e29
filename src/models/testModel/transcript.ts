// What the model says: the transcript its crafted decoder chain emits for every 30-s window.

/** The segments every 30-s window of audio yields (times relative to the window start, in seconds). */
export const TEST_MODEL_SEGMENTS: readonly { start: number; end: number; text: string }[] = [
  { start: 0, end: 2, text: " one two three" },
  { start: 3, end: 6, text: " four five six" },
];

/** The words of the segments, one token each, in the order the chain emits them. */
export const CHAIN_WORDS = [" one", " two", " three", " four", " five", " six"] as const;
/** Timestamp token offsets from <|0.00|>, in 20-ms steps, for the four timestamps of the chain. */
export const CHAIN_TIMESTAMPS = [0, 100, 150, 300] as const;
