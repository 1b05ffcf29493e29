// AudioWorklet processor: the microphone at the AudioContext's rate (usually 44.1 or 48 kHz) →
// mono 16-bit PCM at 24 kHz, posted to the page in chunks of `chunkMs` (ArrayBuffers, transferred).
//
// The rate change is a windowed-sinc interpolator (Kaiser window, beta 8, 16 zero crossings):
// cut-off at 92% of the output's Nyquist frequency, so speech keeps everything up to ~11 kHz and
// the little that aliases lands above the 8 kHz that the server's own 16 kHz resampler keeps.
// The filter's phases are tabulated once (and interpolated between), so any ratio costs the same.

const PHASES = 256;

function besselI0(x) {
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 64; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

class SincResampler {
  constructor(inRate, outRate, zeroCrossings = 16, beta = 8) {
    this.step = inRate / outRate; // input samples per output sample
    const cutoff = Math.min(1, outRate / inRate) * 0.92; // fraction of the input Nyquist
    this.half = Math.ceil(zeroCrossings / cutoff); // taps on each side of the output position
    this.taps = 2 * this.half;
    this.table = new Float32Array((PHASES + 1) * this.taps);
    const norm = besselI0(beta);
    for (let phase = 0; phase <= PHASES; phase++) {
      const frac = phase / PHASES;
      let sum = 0;
      for (let k = 0; k < this.taps; k++) {
        const x = k - this.half + 1 - frac; // distance in input samples
        const t = x / this.half;
        const window = Math.abs(t) < 1 ? besselI0(beta * Math.sqrt(1 - t * t)) / norm : 0;
        const arg = Math.PI * cutoff * x;
        const value = (x === 0 ? 1 : Math.sin(arg) / arg) * window;
        this.table[phase * this.taps + k] = value;
        sum += value;
      }
      // unity gain at DC for every phase
      for (let k = 0; k < this.taps; k++) this.table[phase * this.taps + k] /= sum;
    }
    // History starts with zeros, so the first input sample is not lost to the filter's delay.
    this.buffer = new Float32Array(8192);
    this.length = this.half - 1;
    this.position = this.half - 1;
  }

  /** Resamples `input`, calling `emit(sample)` for each output sample. */
  push(input, emit) {
    if (this.length + input.length > this.buffer.length) {
      const bigger = new Float32Array(Math.max(this.buffer.length * 2, this.length + input.length));
      bigger.set(this.buffer.subarray(0, this.length));
      this.buffer = bigger;
    }
    this.buffer.set(input, this.length);
    this.length += input.length;

    const { buffer, table, taps, half } = this;
    while (Math.floor(this.position) + half < this.length) {
      const base = Math.floor(this.position);
      const scaled = (this.position - base) * PHASES;
      const phase = Math.floor(scaled);
      const blend = scaled - phase;
      const first = base - half + 1;
      const rowA = phase * taps;
      const rowB = rowA + taps;
      let a = 0;
      let b = 0;
      for (let k = 0; k < taps; k++) {
        const sample = buffer[first + k];
        a += sample * table[rowA + k];
        b += sample * table[rowB + k];
      }
      emit(a + (b - a) * blend);
      this.position += this.step;
    }
    // Keep only the history the next output needs.
    const drop = Math.floor(this.position) - half + 1;
    if (drop > 0) {
      buffer.copyWithin(0, drop, this.length);
      this.length -= drop;
      this.position -= drop;
    }
  }
}

class Pcm16Processor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const { targetRate = 24000, chunkMs = 100 } = options.processorOptions ?? {};
    this.resampler = new SincResampler(sampleRate, targetRate);
    this.chunkSamples = Math.round((targetRate * chunkMs) / 1000);
    this.chunk = new Int16Array(this.chunkSamples);
    this.filled = 0;
    this.sumSquares = 0;
    this.mono = new Float32Array(128);
    this.running = true;
    this.port.onmessage = (event) => {
      if (event.data?.type === "stop") {
        this.flush();
        this.running = false;
      }
    };
    this.emit = (sample) => {
      const clamped = sample > 1 ? 1 : sample < -1 ? -1 : sample;
      this.sumSquares += clamped * clamped;
      this.chunk[this.filled++] = clamped < 0 ? clamped * 32768 : clamped * 32767;
      if (this.filled === this.chunkSamples) this.flush();
    };
  }

  flush() {
    if (this.filled === 0) return;
    const pcm = this.chunk.slice(0, this.filled);
    const rms = Math.sqrt(this.sumSquares / this.filled);
    this.filled = 0;
    this.sumSquares = 0;
    this.port.postMessage({ type: "audio", pcm: pcm.buffer, rms }, [pcm.buffer]);
  }

  process(inputs) {
    const channels = inputs[0];
    if (!this.running) return false;
    if (!channels || channels.length === 0) return true;
    const frames = channels[0].length;
    if (this.mono.length !== frames) this.mono = new Float32Array(frames);
    const mono = this.mono;
    if (channels.length === 1) {
      mono.set(channels[0]);
    } else {
      mono.fill(0);
      for (const channel of channels) for (let i = 0; i < frames; i++) mono[i] += channel[i] / channels.length;
    }
    this.resampler.push(mono, this.emit);
    return true;
  }
}

registerProcessor("pcm16-24k", Pcm16Processor);
