// A silence detector, crafted through the encoder into one joint unit, so that where the audio is silent the blank
// wins (and skips the longest duration) and no piece is emitted, as a trained model does. Silence is where the
// log-mel image stands still: digital silence is one constant frame, speech changes from frame to frame (the
// per-bin normalization leaves no level that tells silence from quiet speech in every recording, stillness does):
// - pre-encode conv.0 channels 0 and 1 take each bin's change from the previous frame, rectified both ways; conv.2
//   averages them over a 3x3 patch; the pointwise conv.3 makes channel 0 their shortfall below STILL_LEVEL (zero in
//   speech); conv.5 averages it, the pointwise conv.6 passes it through;
// - pre_encode.out's output 0 is that channel's mean over frequency, times SILENCE_GAIN (its other outputs mix all
//   channels at random), so the encoder's coordinate 0 stands out in silent frames; the small encoder blocks keep it;
// - the joint's hidden unit 0 reads coordinate 0 alone and fires above SILENCE_THRESHOLD; decoding.ts gives it
//   SILENCE_WEIGHT on the blank's and the longest duration's logits, and no weight on the pieces'.
// Low noise is not silence here (its spectrum changes like speech); an all-zero recording is.

import { float32ToHalfBits } from "../float16.js";
import type { ParakeetHparams } from "./hparams.js";

/** Mean frame-to-frame change of the normalized log-mel (both signs) below which a patch counts toward silence. */
const STILL_LEVEL = 0.05;
/** Scale of the silence measure in the encoder's input coordinate 0 (the other coordinates have about unit RMS). */
const SILENCE_GAIN = 200;
/** Encoder output coordinate 0 above which the joint's unit 0 fires (speech keeps it near 0). */
const SILENCE_THRESHOLD = 2;
/** Weight of the joint's unit 0 on the blank's and the longest duration's logits. */
export const SILENCE_WEIGHT = 4;

type Values = Uint16Array | Float32Array;

function set(values: Values, index: number, value: number): void {
  values[index] = values instanceof Uint16Array ? float32ToHalfBits(value) : value;
}

function fill(values: Values, from: number, to: number, value: number): void {
  for (let i = from; i < to; i++) set(values, i, value);
}

/** Rewrites the silence path's share of tensor `name` (seeded `values`, in place); false when it has none. */
export function craftSilencePath(name: string, values: Values, hp: ParakeetHparams): boolean {
  const c = hp.nSubsamplingChannels;
  const freq = hp.nMels / hp.subsamplingFactor;
  const conv = /^encoder\.pre_encode\.conv\.(\d)\.(weight|bias)$/.exec(name);
  if (conv) {
    const layer = conv[1];
    if (conv[2] === "bias") {
      // conv.3's sets the level for channel 0; channels 0 and 1 get no other bias
      set(values, 0, layer === "3" ? STILL_LEVEL : 0);
      if (layer === "0" || layer === "2") set(values, 1, 0);
      return true;
    }
    switch (layer) {
      case "0":
        // [3 (freq), 3 (time), 1, C]: channel 0 = bin(t) - bin(t-1), channel 1 the opposite (ReLU follows)
        fill(values, 0, 18, 0);
        set(values, 1 + 3 * 1, 1);
        set(values, 1 + 3 * 0, -1);
        set(values, 9 + 1 + 3 * 1, -1);
        set(values, 9 + 1 + 3 * 0, 1);
        return true;
      case "2":
        fill(values, 0, 18, 1 / 9);
        return true;
      case "3":
        // pointwise [1, 1, C_in, C_out]: output channel 0 = STILL_LEVEL - (channel 0 + channel 1), then ReLU
        fill(values, 0, c, 0);
        set(values, 0, -1);
        set(values, 1, -1);
        return true;
      case "5":
        fill(values, 0, 9, 1 / 9);
        return true;
      default:
        // conv.6, pointwise: output channel 0 copies input channel 0
        fill(values, 0, c, 0);
        set(values, 0, 1);
        return true;
    }
  }
  switch (name) {
    case "encoder.pre_encode.out.weight":
      // output 0 reads channel 0 (inputs 0..freq-1 of the [freq, channel] flattening) alone
      fill(values, 0, freq * c, 0);
      fill(values, 0, freq, SILENCE_GAIN / freq);
      return true;
    case "encoder.pre_encode.out.bias":
      set(values, 0, 0);
      return true;
    case "joint.enc.weight":
      fill(values, 0, hp.nAudioState, 0);
      set(values, 0, 1);
      return true;
    case "joint.enc.bias":
      set(values, 0, -SILENCE_THRESHOLD);
      return true;
    case "joint.pred.weight":
      fill(values, 0, hp.nPredDim, 0);
      return true;
    case "joint.pred.bias":
      set(values, 0, 0);
      return true;
    default:
      return false;
  }
}
