// Kaldi filterbank features as kaldi-native-fbank computes them for sherpa-onnx's speaker-embedding extractor
// (sherpa-onnx/csrc/features.cc): 25-ms povey-windowed frames every 10 ms, DC removed, pre-emphasis 0.97, a 512-point
// power spectrum, 80 triangular mel bins from 20 Hz to Nyquist − 400 Hz, log with float epsilon as the floor. Like
// kaldi-native-fbank it takes the samples as given: sherpa multiplies them by 32768 before (for models whose metadata
// says normalize_samples = 0, the WeSpeaker ones), here the caller or `sampleScale` does. sherpa frames with snip_edges = false
// (frames centred on every 10 ms, the edges reflected); Kaldi's own default (snip_edges = true) is an option. The
// windows, the mel matrix and the FFT's twiddles are computed once per configuration.

export interface FbankOptions {
  /** Default 16000. */
  sampleRate?: number;
  /** Mel bins, default 80. */
  bins?: number;
  /** Lowest mel edge in Hz, default 20. */
  lowFreq?: number;
  /** Highest mel edge in Hz; zero or negative counts from Nyquist. Default −400 (sherpa's, 7600 Hz at 16 kHz). */
  highFreq?: number;
  /** Kaldi's snip_edges: frames only where a whole window fits. Default false (sherpa's). */
  snipEdges?: boolean;
  /** The input's samples are multiplied by this first. Default 1 (32768 takes samples in [−1, 1] to Kaldi's int16 range). */
  sampleScale?: number;
}

export interface Fbank {
  frames: number;
  /** frames × bins, row-major. */
  features: Float32Array;
  bins: number;
}

const FRAME_LENGTH_MS = 25;
const FRAME_SHIFT_MS = 10;
const PREEMPHASIS = 0.97;
/** std::numeric_limits<float>::epsilon(): Kaldi's floor under the log of a mel energy. */
const FLOAT_EPSILON = 1.1920928955078125e-7;

/** One configuration's precomputed tables. */
interface FbankPlan {
  frameLength: number;
  frameShift: number;
  fftSize: number;
  bins: number;
  snipEdges: boolean;
  scale: number;
  window: Float64Array;
  /** Per mel bin: the first FFT bin it weights and its weights. */
  melFirst: Int32Array;
  melWeights: Float64Array[];
  fft: RealFft;
}

const plans = new Map<string, FbankPlan>();

function planFor(options: FbankOptions): FbankPlan {
  const sampleRate = options.sampleRate ?? 16000;
  const bins = options.bins ?? 80;
  const lowFreq = options.lowFreq ?? 20;
  const highFreq = options.highFreq ?? -400;
  const snipEdges = options.snipEdges ?? false;
  const scale = options.sampleScale ?? 1;
  const key = [sampleRate, bins, lowFreq, highFreq, snipEdges, scale].join(",");
  let plan = plans.get(key);
  if (plan) return plan;

  const frameLength = Math.round((sampleRate * FRAME_LENGTH_MS) / 1000);
  const frameShift = Math.round((sampleRate * FRAME_SHIFT_MS) / 1000);
  let fftSize = 1;
  while (fftSize < frameLength) fftSize *= 2;
  const { first, weights } = melBanks(bins, fftSize, sampleRate, lowFreq, highFreq);
  plan = { frameLength, frameShift, fftSize, bins, snipEdges, scale, window: poveyWindow(frameLength), melFirst: first, melWeights: weights, fft: new RealFft(fftSize) };
  plans.set(key, plan);
  return plan;
}

/** Kaldi's "povey" window: a Hann window raised to 0.85. */
function poveyWindow(length: number): Float64Array {
  const window = new Float64Array(length);
  const a = (2 * Math.PI) / (length - 1);
  for (let i = 0; i < length; i++) window[i] = Math.pow(0.5 - 0.5 * Math.cos(a * i), 0.85);
  return window;
}

function melScale(hz: number): number {
  return 1127 * Math.log(1 + hz / 700);
}

/** Kaldi's MelBanks: triangles equally spaced on the mel scale over the FFT bins below Nyquist. */
function melBanks(bins: number, fftSize: number, sampleRate: number, lowFreq: number, highFreqOption: number): { first: Int32Array; weights: Float64Array[] } {
  const nyquist = sampleRate / 2;
  const highFreq = highFreqOption > 0 ? highFreqOption : nyquist + highFreqOption;
  if (!(lowFreq >= 0 && lowFreq < highFreq && highFreq <= nyquist)) throw new RangeError(`fbank: bad mel range ${lowFreq}..${highFreq} Hz`);
  const fftBins = fftSize / 2;
  const binWidth = sampleRate / fftSize;
  const melLow = melScale(lowFreq);
  const melDelta = (melScale(highFreq) - melLow) / (bins + 1);
  const first = new Int32Array(bins);
  const weights: Float64Array[] = [];
  for (let bin = 0; bin < bins; bin++) {
    const left = melLow + bin * melDelta;
    const center = left + melDelta;
    const right = center + melDelta;
    const row: number[] = [];
    let start = -1;
    for (let i = 0; i < fftBins; i++) {
      const mel = melScale(binWidth * i);
      if (mel > left && mel < right) {
        if (start < 0) start = i;
        row.push(mel <= center ? (mel - left) / (center - left) : (right - mel) / (right - center));
      }
    }
    first[bin] = Math.max(start, 0);
    weights.push(Float64Array.from(row));
  }
  return { first, weights };
}

/** Kaldi's frame count: whole windows (snip_edges) or one frame per shift, rounded (the edges reflected). */
export function fbankFrameCount(samples: number, options: FbankOptions = {}): number {
  const { frameLength, frameShift, snipEdges } = planFor(options);
  if (snipEdges) return samples < frameLength ? 0 : 1 + Math.floor((samples - frameLength) / frameShift);
  return Math.floor((samples + Math.floor(frameShift / 2)) / frameShift);
}

/** Log mel filterbank energies of `samples` (mono, at options.sampleRate, times options.sampleScale). */
export function computeFbank(samples: Float32Array, options: FbankOptions = {}): Fbank {
  const plan = planFor(options);
  const { frameLength, frameShift, fftSize, bins, scale, window, melFirst, melWeights, fft } = plan;
  const frames = fbankFrameCount(samples.length, options);
  const features = new Float32Array(frames * bins);
  const frame = new Float64Array(fftSize);
  const power = new Float64Array(fftSize / 2 + 1);
  const n = samples.length;
  for (let f = 0; f < frames; f++) {
    const start = plan.snipEdges ? f * frameShift : f * frameShift + Math.floor(frameShift / 2) - Math.floor(frameLength / 2);
    let sum = 0;
    if (start >= 0 && start + frameLength <= n) {
      for (let i = 0; i < frameLength; i++) sum += frame[i] = (samples[start + i] as number) * scale;
    } else {
      for (let i = 0; i < frameLength; i++) sum += frame[i] = (samples[reflect(start + i, n)] as number) * scale;
    }
    const mean = sum / frameLength;
    for (let i = 0; i < frameLength; i++) frame[i]! -= mean;
    for (let i = frameLength - 1; i > 0; i--) frame[i]! -= PREEMPHASIS * frame[i - 1]!;
    frame[0]! -= PREEMPHASIS * frame[0]!;
    for (let i = 0; i < frameLength; i++) frame[i]! *= window[i]!;
    frame.fill(0, frameLength);
    fft.powerSpectrum(frame, power);
    const row = f * bins;
    for (let b = 0; b < bins; b++) {
      const weights = melWeights[b]!;
      const offset = melFirst[b]!;
      let energy = 0;
      for (let k = 0; k < weights.length; k++) energy += weights[k]! * power[offset + k]!;
      features[row + b] = Math.log(Math.max(energy, FLOAT_EPSILON));
    }
  }
  return { frames, features, bins };
}

/** A sample index outside [0, n) mirrored back into it, as Kaldi's ExtractWindow does. */
function reflect(index: number, n: number): number {
  let s = index;
  while (s < 0 || s >= n) s = s < 0 ? -s - 1 : 2 * n - 1 - s;
  return s;
}

/** Cepstral mean normalization in place: each bin's mean over the frames subtracted. */
export function subtractFrameMean(features: Float32Array, frames: number, bins: number): Float32Array {
  if (frames === 0) return features;
  const mean = new Float64Array(bins);
  for (let f = 0; f < frames; f++) for (let b = 0; b < bins; b++) mean[b]! += features[f * bins + b]!;
  for (let b = 0; b < bins; b++) mean[b]! /= frames;
  for (let f = 0; f < frames; f++) for (let b = 0; b < bins; b++) features[f * bins + b]! -= mean[b]!;
  return features;
}

/**
 * A real FFT of a power-of-two size N through one complex FFT of N/2 points (the even samples as real parts, the odd
 * as imaginary), radix-2 with precomputed bit reversal and twiddles.
 */
class RealFft {
  private readonly half: number;
  private readonly bitReversed: Uint32Array;
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  private readonly re: Float64Array;
  private readonly im: Float64Array;

  constructor(readonly size: number) {
    if (size < 4 || (size & (size - 1)) !== 0) throw new RangeError(`fbank: FFT size ${size} is not a power of two ≥ 4`);
    const half = size / 2;
    this.half = half;
    const bits = Math.log2(half);
    this.bitReversed = new Uint32Array(half);
    for (let i = 0; i < half; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
      this.bitReversed[i] = r;
    }
    // Twiddles of the full size: the complex stages use every other one, the real split all of them.
    this.cos = new Float64Array(half);
    this.sin = new Float64Array(half);
    for (let k = 0; k < half; k++) {
      this.cos[k] = Math.cos((2 * Math.PI * k) / size);
      this.sin[k] = -Math.sin((2 * Math.PI * k) / size);
    }
    this.re = new Float64Array(half);
    this.im = new Float64Array(half);
  }

  /** |X[k]|² for k = 0..N/2 of the real input `x` (length N) into `out` (length N/2 + 1). */
  powerSpectrum(x: Float64Array, out: Float64Array): void {
    const { half, re, im, cos, sin, bitReversed } = this;
    for (let i = 0; i < half; i++) {
      const j = bitReversed[i]!;
      re[j] = x[2 * i]!;
      im[j] = x[2 * i + 1]!;
    }
    for (let span = 1; span < half; span *= 2) {
      const step = half / span; // twiddle stride in the full-size table, × 2 for the half-size FFT
      for (let start = 0; start < half; start += 2 * span) {
        for (let k = 0; k < span; k++) {
          const wr = cos[k * step]!;
          const wi = sin[k * step]!;
          const a = start + k;
          const b = a + span;
          const tr = wr * re[b]! - wi * im[b]!;
          const ti = wr * im[b]! + wi * re[b]!;
          re[b] = re[a]! - tr;
          im[b] = im[a]! - ti;
          re[a]! += tr;
          im[a]! += ti;
        }
      }
    }
    // Split: X[k] = E[k] + W^k O[k], with E and O recovered from Z[k] and conj(Z[half − k]).
    out[0] = (re[0]! + im[0]!) ** 2;
    out[half] = (re[0]! - im[0]!) ** 2;
    for (let k = 1; k < half; k++) {
      const zr = re[k]!, zi = im[k]!;
      const cr = re[half - k]!, ci = -im[half - k]!;
      const er = 0.5 * (zr + cr), ei = 0.5 * (zi + ci);
      const or = 0.5 * (zi - ci), oi = -0.5 * (zr - cr);
      const wr = cos[k]!, wi = sin[k]!;
      const xr = er + wr * or - wi * oi;
      const xi = ei + wr * oi + wi * or;
      out[k] = xr * xr + xi * xi;
    }
  }
}
