// The feature extractor's constants a ggml Parakeet file carries: NeMo's mel filterbank (librosa's Slaney mel
// filters, as the converter copies preprocessor.featurizer.fb) and its STFT window (torch.hann_window(400,
// periodic=False), preprocessor.featurizer.window).

import { slaneyMelFilters } from "../melFilters.js";
import { type ParakeetHparams, WINDOW_SAMPLES } from "./hparams.js";

/** [nMels][nFft/2+1] row-major, as the file stores them. */
export function parakeetMelFilters(hp: ParakeetHparams): Float32Array {
  return slaneyMelFilters(hp.nMels, hp.nFft, 16000);
}

/** The symmetric Hann window of WINDOW_SAMPLES samples. */
export function hannWindow(length = WINDOW_SAMPLES): Float32Array {
  const out = new Float32Array(length);
  for (let n = 0; n < length; n++) out[n] = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / (length - 1));
  return out;
}
