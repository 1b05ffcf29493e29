// Mel filters: librosa.filters.mel(sr=16000, n_fft=400, n_mels=80) (Slaney scale and area
// normalization), which is what whisper's mel_filters.npz and the real ggml files contain.

function hzToMelSlaney(hz: number): number {
  const fSp = 200 / 3;
  const minLogHz = 1000;
  const minLogMel = minLogHz / fSp;
  const logStep = Math.log(6.4) / 27;
  return hz >= minLogHz ? minLogMel + Math.log(hz / minLogHz) / logStep : hz / fSp;
}

function melToHzSlaney(mel: number): number {
  const fSp = 200 / 3;
  const minLogHz = 1000;
  const minLogMel = minLogHz / fSp;
  const logStep = Math.log(6.4) / 27;
  return mel >= minLogMel ? minLogHz * Math.exp(logStep * (mel - minLogMel)) : fSp * mel;
}

/** [nMels][nFft/2+1] row-major f32 triangular filters. */
export function slaneyMelFilters(nMels = 80, nFft = 400, sampleRate = 16000): Float32Array {
  const nBins = nFft / 2 + 1;
  const fftFreqs = Array.from({ length: nBins }, (_, k) => (k * sampleRate) / nFft);
  const melMin = hzToMelSlaney(0);
  const melMax = hzToMelSlaney(sampleRate / 2);
  const melF = Array.from({ length: nMels + 2 }, (_, i) => melToHzSlaney(melMin + ((melMax - melMin) * i) / (nMels + 1)));
  const out = new Float32Array(nMels * nBins);
  for (let m = 0; m < nMels; m++) {
    const f0 = melF[m]!, f1 = melF[m + 1]!, f2 = melF[m + 2]!;
    const enorm = 2 / (f2 - f0);
    for (let k = 0; k < nBins; k++) {
      const lower = -(f0 - fftFreqs[k]!) / (f1 - f0);
      const upper = (f2 - fftFreqs[k]!) / (f2 - f1);
      // librosa stores the ramp in f32, then scales it in place (f64 product cast back to f32)
      out[m * nBins + k] = Math.fround(Math.fround(Math.max(0, Math.min(lower, upper))) * enorm);
    }
  }
  return out;
}
