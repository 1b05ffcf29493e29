// The numbers of each Parakeet test shape, in the order whisper.cpp's parakeet_model_load reads them.
//
// "0.6b" is nvidia/parakeet-tdt-0.6b-v3 as upstream's converter (models/convert-parakeet-to-ggml.py in the
// whisper.cpp tree) writes it from the NeMo config: FastConformer encoder of 24 layers, d_model 1024, 8 heads,
// 128 mel features from a 512-point FFT, 8x depthwise-striding subsampling with 256 channels, conv kernel 9;
// a 2-layer LSTM prediction network of 640; TDT durations [0, 1, 2, 3, 4]; 8192 SentencePiece pieces; greedy
// max_symbols 10; n_audio_ctx 5000 (hard-coded by the converter). The same numbers are parakeet.cpp's defaults
// (parakeet_hparams) and its loader's tensor shapes; a file of these shapes is the size of upstream's
// ggml-parakeet-tdt-0.6b-v3-f16.bin (test/models/parakeetTestModel.test.ts).
// "tiny" keeps the front end, n_audio_ctx, the durations and the layer structure, and shrinks every width.

/** The 15 int32 hyper-parameters of a ggml Parakeet TDT file. */
export interface ParakeetHparams {
  nVocab: number;
  /** Mel frames one encoder graph is sized for (longer audio gets a dynamic graph). */
  nAudioCtx: number;
  nAudioState: number;
  nAudioHead: number;
  nAudioLayer: number;
  nMels: number;
  /** 1: the big matrices are f16. */
  ftype: number;
  nFft: number;
  subsamplingFactor: number;
  nSubsamplingChannels: number;
  nConvKernel: number;
  nPredDim: number;
  nPredLayers: number;
  nTdtDurations: number;
  /** Greedy decoding's most tokens at one encoder frame. */
  nMaxTokens: number;
}

/** The hparams in the order the file stores them (parakeet_model_load). */
export const PARAKEET_HPARAM_ORDER: readonly (keyof ParakeetHparams)[] = [
  "nVocab", "nAudioCtx", "nAudioState", "nAudioHead", "nAudioLayer", "nMels", "ftype", "nFft",
  "subsamplingFactor", "nSubsamplingChannels", "nConvKernel", "nPredDim", "nPredLayers", "nTdtDurations", "nMaxTokens",
];

export type ParakeetTestShape = "tiny" | "0.6b";

export const PARAKEET_TEST_SHAPES: readonly ParakeetTestShape[] = ["tiny", "0.6b"];

/** The frames each TDT duration class advances (the NeMo config's model_defaults.tdt_durations). */
export const TDT_DURATIONS: readonly number[] = [0, 1, 2, 3, 4];

/** Samples of the STFT window (NeMo's window_size 0.025 s at 16 kHz), centred in the n_fft frame. */
export const WINDOW_SAMPLES = 400;

export function parakeetTestHparams(shape: ParakeetTestShape): ParakeetHparams {
  const common = {
    nAudioCtx: 5000,
    nMels: 128,
    ftype: 1,
    nFft: 512,
    subsamplingFactor: 8,
    nConvKernel: 9,
    nPredLayers: 2,
    nTdtDurations: TDT_DURATIONS.length,
    nMaxTokens: 10,
  };
  if (shape === "0.6b") {
    return { ...common, nVocab: 8192, nAudioState: 1024, nAudioHead: 8, nAudioLayer: 24, nSubsamplingChannels: 256, nPredDim: 640 };
  }
  return { ...common, nVocab: 1024, nAudioState: 128, nAudioHead: 4, nAudioLayer: 2, nSubsamplingChannels: 32, nPredDim: 128 };
}
