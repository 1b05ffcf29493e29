// Tensor list, in the loader's order, with each tensor's initialization.

import { F16, F32, type GgmlTensor, tensorHeader } from "./ggmlFile.js";
import type { WhisperHparams } from "./hparams.js";

type Init =
  | { kind: "normal"; std: number }
  | { kind: "const"; value: number }
  | { kind: "sinusoids" };

export interface TensorSpec extends GgmlTensor {
  init: Init;
}

// Weight scales. Encoder values only need to be sane (its compute cost doesn't depend on them).
const WEIGHT_STD = 0.02;
const BIAS_STD = 0.01;
/** Decoder token embedding: large, so the residual stream is dominated by the chain signal. */
const TOKEN_EMBED_STD = 1;
const DECODER_POS_STD = 0.05;
/** Decoder output projections (attn.out, cross_attn.out, mlp.2): small, blocks barely perturb. */
const DECODER_OUT_STD = 0.002;

function layerTensors(prefix: string, d: number, cross: boolean, decoder: boolean): TensorSpec[] {
  const normW: Init = { kind: "const", value: 1 };
  const normB: Init = { kind: "const", value: 0 };
  const w: Init = { kind: "normal", std: WEIGHT_STD };
  const outW: Init = { kind: "normal", std: decoder ? DECODER_OUT_STD : WEIGHT_STD };
  const b: Init = { kind: "normal", std: decoder ? BIAS_STD / 10 : BIAS_STD };
  const attn = (p: string): TensorSpec[] => [
    { name: `${p}_ln.weight`, ne: [d], type: F32, init: normW },
    { name: `${p}_ln.bias`, ne: [d], type: F32, init: normB },
    { name: `${p}.query.weight`, ne: [d, d], type: F16, init: w },
    { name: `${p}.query.bias`, ne: [d], type: F32, init: b },
    { name: `${p}.key.weight`, ne: [d, d], type: F16, init: w },
    { name: `${p}.value.weight`, ne: [d, d], type: F16, init: w },
    { name: `${p}.value.bias`, ne: [d], type: F32, init: b },
    { name: `${p}.out.weight`, ne: [d, d], type: F16, init: outW },
    { name: `${p}.out.bias`, ne: [d], type: F32, init: b },
  ];
  return [
    { name: `${prefix}.mlp_ln.weight`, ne: [d], type: F32, init: normW },
    { name: `${prefix}.mlp_ln.bias`, ne: [d], type: F32, init: normB },
    { name: `${prefix}.mlp.0.weight`, ne: [d, 4 * d], type: F16, init: w },
    { name: `${prefix}.mlp.0.bias`, ne: [4 * d], type: F32, init: b },
    { name: `${prefix}.mlp.2.weight`, ne: [4 * d, d], type: F16, init: outW },
    { name: `${prefix}.mlp.2.bias`, ne: [d], type: F32, init: b },
    ...attn(`${prefix}.attn`),
    ...(cross ? attn(`${prefix}.cross_attn`) : []),
  ];
}

/** Every tensor of a whisper model with these hparams (the set whisper_model_load expects). */
export function whisperTensorSpecs(hp: WhisperHparams): TensorSpec[] {
  const d = hp.nAudioState;
  const specs: TensorSpec[] = [
    { name: "encoder.positional_embedding", ne: [d, hp.nAudioCtx], type: F32, init: { kind: "sinusoids" } },
    { name: "encoder.conv1.weight", ne: [3, hp.nMels, d], type: F16, init: { kind: "normal", std: WEIGHT_STD } },
    { name: "encoder.conv1.bias", ne: [1, d], type: F32, init: { kind: "normal", std: BIAS_STD } },
    { name: "encoder.conv2.weight", ne: [3, d, d], type: F16, init: { kind: "normal", std: WEIGHT_STD } },
    { name: "encoder.conv2.bias", ne: [1, d], type: F32, init: { kind: "normal", std: BIAS_STD } },
    { name: "encoder.ln_post.weight", ne: [d], type: F32, init: { kind: "const", value: 1 } },
    { name: "encoder.ln_post.bias", ne: [d], type: F32, init: { kind: "const", value: 0 } },
  ];
  for (let i = 0; i < hp.nAudioLayer; i++) specs.push(...layerTensors(`encoder.blocks.${i}`, d, false, false));
  const dt = hp.nTextState;
  specs.push(
    { name: "decoder.positional_embedding", ne: [dt, hp.nTextCtx], type: F32, init: { kind: "normal", std: DECODER_POS_STD } },
    { name: "decoder.token_embedding.weight", ne: [dt, hp.nVocab], type: F16, init: { kind: "normal", std: TOKEN_EMBED_STD } },
    { name: "decoder.ln.weight", ne: [dt], type: F32, init: { kind: "const", value: 1 } },
    { name: "decoder.ln.bias", ne: [dt], type: F32, init: { kind: "const", value: 0 } },
  );
  for (let i = 0; i < hp.nTextLayer; i++) specs.push(...layerTensors(`decoder.blocks.${i}`, dt, true, true));
  return specs;
}

export function tensorElements(spec: TensorSpec): number {
  return spec.ne.reduce((a, b) => a * b, 1);
}

export function tensorBytes(spec: TensorSpec): number {
  return tensorElements(spec) * (spec.type === F16 ? 2 : 4);
}

/** Total file size of a generated model (header + tensor table + data). */
export function modelSize(headerBytes: number, specs: readonly TensorSpec[]): number {
  return specs.reduce((sum, s) => sum + tensorHeader(s).length + tensorBytes(s), headerBytes);
}
