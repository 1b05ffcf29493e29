// Streaming rational-ratio resampler (polyphase, Kaiser-windowed sinc FIR) for realtime audio chunks.
//
// Resampling by L/M (L = up, M = down, in lowest terms) conceptually inserts L-1 zeros between input samples,
// low-pass filters at the "prototype" rate inputRate·L, and keeps every M-th sample. The polyphase form only
// evaluates the kept samples, and only the non-zero products: output n is
//
//   y[n] = Σ_k x[k] · h[n·M + D − k·L]
//
// where h is a linear-phase (symmetric, odd-length) low-pass of N = 2D + 1 taps scaled to a gain of L. Centring the
// filter on D makes the filter's group delay cancel exactly: y[n] is the band-limited signal at input time
// n / outputRate, so timestamps derived from output sample counts (VAD boundaries in ms) match the input's.
// The price is latency: y[n] needs input up to time n / outputRate + delaySeconds, so `push` holds back the last
// ~delaySeconds of output until more input (or `flush`) arrives. Defaults: 24 kHz → 16 kHz delays 3.98 ms,
// 8 kHz → 16 kHz 7.94 ms.
//
// Every output sample is computed from the same inputs in the same order whatever the chunking, so pushing a
// stream in chunks of any sizes returns exactly (bit for bit) the samples one push of the whole stream would.

/** Design targets of the anti-aliasing / anti-imaging filter. */
export interface StreamingResamplerOptions {
  /** Input sample rate in Hz (a positive integer). */
  inputRate: number;
  /** Output sample rate in Hz (a positive integer). */
  outputRate: number;
  /**
   * Passband edge as a fraction of the lower of the two Nyquist frequencies; default 0.91 (7.28 kHz when either
   * side is 16 kHz, 3.64 kHz for 8 kHz G.711 input): the default of ffmpeg's soxr resampler, which decodeAudio
   * uses for uploaded files, so both paths give nearly the same 16 kHz signal. The stopband starts at that
   * Nyquist frequency, so nothing above it aliases (downsampling) or images (upsampling) by more than the
   * attenuation below.
   */
  passband?: number;
  /** Stopband attenuation the Kaiser design targets, in dB; default 90. Passband ripple is about ±10^(-A/20). */
  attenuationDb?: number;
}

const DEFAULT_PASSBAND = 0.91;
const DEFAULT_ATTENUATION_DB = 90;
/** Refuse filter designs larger than this many taps (e.g. absurd ratios like 44101/16000). */
const MAX_TAPS = 1 << 20;

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Modified Bessel function of the first kind, order 0 (power series; converges fast for the β used here). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const quarterSquare = (x * x) / 4;
  for (let k = 1; k < 200; k++) {
    term *= quarterSquare / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

/** Kaiser window β for a stopband attenuation of `attenuationDb` (Kaiser's empirical formula). */
function kaiserBeta(attenuationDb: number): number {
  if (attenuationDb > 50) return 0.1102 * (attenuationDb - 8.7);
  if (attenuationDb >= 21) return 0.5842 * (attenuationDb - 21) ** 0.4 + 0.07886 * (attenuationDb - 21);
  return 0;
}

/** The designed prototype filter, exposed for inspection (frequency-response checks, documentation). */
export interface ResamplerFilter {
  /** Prototype sample rate: inputRate · up. */
  sampleRate: number;
  /** Tap values, symmetric, summing to `up` (unity passband gain after zero-stuffing). */
  taps: Float64Array;
  /** Centre tap index = group delay in prototype samples. */
  delay: number;
  passbandEdgeHz: number;
  stopbandEdgeHz: number;
}

function designFilter(up: number, inputRate: number, outputRate: number, passband: number, attenuationDb: number): ResamplerFilter {
  const sampleRate = inputRate * up;
  const nyquist = Math.min(inputRate, outputRate) / 2;
  const passbandEdgeHz = passband * nyquist;
  const stopbandEdgeHz = nyquist;
  const transition = (stopbandEdgeHz - passbandEdgeHz) / sampleRate;
  const estimate = Math.ceil((attenuationDb - 7.95) / (14.36 * transition)) + 1;
  const delay = Math.max(1, Math.ceil((estimate - 1) / 2));
  const length = 2 * delay + 1;
  if (length > MAX_TAPS) {
    throw new RangeError(`Resampling ${inputRate} → ${outputRate} Hz needs a ${length}-tap filter (max ${MAX_TAPS})`);
  }
  const cutoff = (passbandEdgeHz + stopbandEdgeHz) / 2 / sampleRate; // cycles per prototype sample
  const beta = kaiserBeta(attenuationDb);
  const windowNorm = besselI0(beta);
  const taps = new Float64Array(length);
  let sum = 0;
  for (let i = 0; i < length; i++) {
    const offset = i - delay;
    const x = 2 * cutoff * offset;
    const sinc = offset === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
    const r = offset / delay;
    const window = besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / windowNorm;
    taps[i] = 2 * cutoff * sinc * window;
    sum += taps[i] ?? 0;
  }
  for (let i = 0; i < length; i++) taps[i] = ((taps[i] ?? 0) * up) / sum;
  return { sampleRate, taps, delay, passbandEdgeHz, stopbandEdgeHz };
}

/**
 * Resamples one continuous mono stream from `inputRate` to `outputRate`, chunk by chunk. Input before the first
 * sample and after the last (at {@link flush}) is taken as silence. One instance per stream; not thread-shared.
 */
export class StreamingResampler {
  readonly inputRate: number;
  readonly outputRate: number;
  /** Interpolation factor L (outputRate / gcd). */
  readonly up: number;
  /** Decimation factor M (inputRate / gcd). */
  readonly down: number;
  /** The prototype low-pass (identity: a single tap of 1 when the rates are equal). */
  readonly filter: ResamplerFilter;
  /**
   * How long output lags input, in seconds: `push` can only return output up to input time
   * `(inputSamples / inputRate) - delaySeconds`. The output timeline itself is NOT shifted (see file header).
   */
  readonly delaySeconds: number;

  /** Taps per polyphase branch (P = ceil(N / L), rounded up to a multiple of 4). */
  private readonly branchLength: number;
  /** L branches of P coefficients, each in input order (oldest sample first): branch p, i ↔ h[p + (P-1-i)·L]. */
  private readonly branches: Float64Array;
  /** Input samples from absolute index `historyStart` on; indices < 0 are the implicit leading silence. */
  private history: Float32Array;
  private historyStart = 0;
  private historyLength = 0;
  private inputCount = 0;
  private outputCount = 0;

  constructor(options: StreamingResamplerOptions) {
    const { inputRate, outputRate } = options;
    for (const [name, rate] of [["inputRate", inputRate], ["outputRate", outputRate]] as const) {
      if (!Number.isSafeInteger(rate) || rate <= 0) throw new RangeError(`${name} must be a positive integer, got ${rate}`);
    }
    const passband = options.passband ?? DEFAULT_PASSBAND;
    if (!(passband > 0 && passband < 1)) throw new RangeError(`passband must be in (0, 1), got ${passband}`);
    const attenuationDb = options.attenuationDb ?? DEFAULT_ATTENUATION_DB;
    if (!(attenuationDb >= 21 && attenuationDb <= 200)) throw new RangeError(`attenuationDb must be in [21, 200], got ${attenuationDb}`);
    const divisor = gcd(inputRate, outputRate);
    this.inputRate = inputRate;
    this.outputRate = outputRate;
    this.up = outputRate / divisor;
    this.down = inputRate / divisor;
    this.filter =
      this.up === 1 && this.down === 1
        ? { sampleRate: inputRate, taps: Float64Array.of(1), delay: 0, passbandEdgeHz: inputRate / 2, stopbandEdgeHz: inputRate / 2 }
        : designFilter(this.up, inputRate, outputRate, passband, attenuationDb);
    this.delaySeconds = this.filter.delay / this.filter.sampleRate;

    const { taps } = this.filter;
    const up = this.up;
    // Rounded up to a multiple of 4 (zero taps at the oldest end) so the unrolled loop needs no remainder loop:
    // V8 compiles it measurably slower once a remainder iteration has ever run.
    const length = Math.ceil(Math.ceil(taps.length / up) / 4) * 4;
    this.branchLength = length;
    this.branches = new Float64Array(up * length);
    for (let phase = 0; phase < up; phase++) {
      for (let i = 0; i < length; i++) this.branches[phase * length + i] = taps[phase + (length - 1 - i) * up] ?? 0;
    }
    this.history = new Float32Array(Math.max(4096, 2 * length));
    this.reset();
  }

  /** Input samples pushed since the stream (re)started. */
  get inputSamples(): number {
    return this.inputCount;
  }

  /** Output samples returned since the stream (re)started; output sample n is at time n / outputRate. */
  get outputSamples(): number {
    return this.outputCount;
  }

  /**
   * How many samples {@link push} would return if `inputSamples` more input samples were pushed now (in one push or
   * several): lets a caller check a limit before it commits to a chunk. Changes nothing.
   */
  outputsAfter(inputSamples: number): number {
    const end = this.historyStart + this.historyLength + Math.max(0, inputSamples);
    const last = end * this.up - 1 - this.filter.delay;
    return Math.max(0, (last < 0 ? 0 : Math.floor(last / this.down) + 1) - this.outputCount);
  }

  /** Adds input; returns every output sample that no longer depends on input still to come (possibly none). */
  push(chunk: Float32Array): Float32Array {
    if (chunk.length === 0) return new Float32Array(0);
    this.append(chunk);
    this.inputCount += chunk.length;
    return this.produce(this.determinedOutputs());
  }

  /**
   * Ends the stream: returns the remaining output (the input's tail, filtered against trailing silence), so that
   * in total `ceil(inputSamples · outputRate / inputRate)` samples came out, covering exactly the input's duration.
   * Then resets: the next push starts a new stream at time 0.
   */
  flush(): Float32Array {
    const total = Math.floor((this.inputCount * this.up + this.down - 1) / this.down);
    let tail: Float32Array = new Float32Array(0);
    if (total > this.outputCount) {
      const lastNeeded = Math.floor(((total - 1) * this.down + this.filter.delay) / this.up);
      const silence = lastNeeded + 1 - (this.historyStart + this.historyLength);
      if (silence > 0) this.append(new Float32Array(silence));
      tail = this.produce(total);
    }
    this.reset();
    return tail;
  }

  /** Forgets all input: back to the state of a new instance. */
  reset(): void {
    // Leading silence: the first outputs reach back up to P - 1 samples before input sample 0.
    this.historyStart = -(this.branchLength - 1);
    this.historyLength = this.branchLength - 1;
    this.history.fill(0, 0, this.historyLength);
    this.inputCount = 0;
    this.outputCount = 0;
  }

  /** Number of output samples (from 0) fully determined by the input appended so far. */
  private determinedOutputs(): number {
    const end = this.historyStart + this.historyLength; // one past the last input index held
    // y[n] needs input up to floor((n·M + D) / L) < end  ⇔  n·M + D ≤ end·L − 1.
    const last = end * this.up - 1 - this.filter.delay;
    return last < 0 ? 0 : Math.floor(last / this.down) + 1;
  }

  private append(samples: Float32Array): void {
    const needed = this.historyLength + samples.length;
    if (needed > this.history.length) {
      const grown = new Float32Array(Math.max(needed, 2 * this.history.length));
      grown.set(this.history.subarray(0, this.historyLength));
      this.history = grown;
    }
    this.history.set(samples, this.historyLength);
    this.historyLength = needed;
  }

  /** Computes outputs [outputCount, end), then drops the history no later output needs. */
  private produce(end: number): Float32Array {
    const start = this.outputCount;
    const out = new Float32Array(Math.max(0, end - start));
    const { up, down, branches, branchLength, history, historyStart } = this;
    const delay = this.filter.delay;
    for (let n = start; n < end; n++) {
      const t = n * down + delay;
      const newest = Math.floor(t / up);
      // Both are small array offsets: `| 0` keeps them int32 even if V8 has seen the rates as doubles (t and
      // newest may not be: they pass 2^31 after ~12 hours of audio).
      const coefficients = ((t - newest * up) * branchLength) | 0;
      const first = (newest - branchLength + 1 - historyStart) | 0;
      // Four independent sums (fixed order, so results never depend on chunking): ~1.5x faster in V8.
      // Indices are in range by construction; `!` keeps V8's loop free of undefined checks.
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      for (let i = 0; i < branchLength; i += 4) {
        a0 += branches[coefficients + i]! * history[first + i]!;
        a1 += branches[coefficients + i + 1]! * history[first + i + 1]!;
        a2 += branches[coefficients + i + 2]! * history[first + i + 2]!;
        a3 += branches[coefficients + i + 3]! * history[first + i + 3]!;
      }
      out[n - start] = a0 + a1 + (a2 + a3);
    }
    this.outputCount = Math.max(start, end);
    // The oldest input the next output reads.
    const keepFrom = Math.floor((this.outputCount * down + delay) / up) - branchLength + 1;
    const drop = Math.min(this.historyLength, keepFrom - historyStart);
    if (drop > 0) {
      history.copyWithin(0, drop, this.historyLength);
      this.historyStart += drop;
      this.historyLength -= drop;
    }
    return out;
  }
}
