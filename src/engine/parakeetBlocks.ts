// Where a long input is cut for Parakeet. parakeet_full encodes its whole input in one pass, with full attention:
// memory and time grow with the square of the length (an hour would need tens of GB). The engine therefore decodes
// an input longer than MAX_BLOCK_SECONDS as consecutive blocks, each cut at the quietest 20 ms within the last
// CUT_SEARCH_SECONDS of its span, so that a cut falls in a pause rather than inside a word. (A request with VAD
// chunking arrives here already cut at pauses, in chunks shorter than a block.)
import { SAMPLE_RATE } from "./sampleRate.js";

/** The longest input decoded in one pass (seconds). */
export const MAX_BLOCK_SECONDS = 60;
/** How far back from a block's longest end the cut may move to find a pause (seconds). */
export const CUT_SEARCH_SECONDS = 10;
const FRAME = Math.round(SAMPLE_RATE * 0.02);

/** The sample offsets at which `pcm` is cut into blocks: [0, ..., pcm.length]. */
export function blockBounds(pcm: Float32Array, maxSeconds = MAX_BLOCK_SECONDS, searchSeconds = CUT_SEARCH_SECONDS): number[] {
  const maxSamples = Math.round(maxSeconds * SAMPLE_RATE);
  const bounds = [0];
  let start = 0;
  while (pcm.length - start > maxSamples) {
    const latest = start + maxSamples;
    const earliest = Math.max(start + FRAME, latest - Math.round(searchSeconds * SAMPLE_RATE));
    let cut = latest;
    let quietest = Infinity;
    for (let frame = latest - FRAME; frame >= earliest; frame -= FRAME) {
      let energy = 0;
      for (let i = frame; i < frame + FRAME; i++) energy += pcm[i]! * pcm[i]!;
      if (energy < quietest) {
        quietest = energy;
        cut = frame + Math.floor(FRAME / 2);
      }
    }
    bounds.push(cut);
    start = cut;
  }
  bounds.push(pcm.length);
  return bounds;
}
