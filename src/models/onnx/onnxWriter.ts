// An ONNX model written straight as protobuf bytes: enough of onnx.proto (ModelProto, GraphProto, NodeProto with its
// attributes, float32 and int64 initializers, typed inputs and outputs with fixed or symbolic dims, metadata_props) to
// generate the test models, without a protobuf library. src/audio/vad/onnxInitializers.ts reads the same format.

import { promises as fs } from "node:fs";
import os from "node:os";

/** A dimension: a fixed size, or a symbolic name ("N", "T") for one the model leaves open. */
export type OnnxDim = number | string;

export interface OnnxValueInfo {
  name: string;
  /** TensorProto.DataType; default FLOAT. */
  elemType?: number;
  dims: OnnxDim[];
}

/** An initializer or a tensor attribute: float32 (written as raw_data) or int64. */
export type OnnxTensorData = { name: string; dims: number[]; float32: Float32Array } | { name: string; dims: number[]; int64: readonly number[] };

export type OnnxAttribute =
  | { int: number }
  | { ints: readonly number[] }
  | { float: number }
  | { floats: readonly number[] }
  | { string: string }
  | { tensor: OnnxTensorData };

export interface OnnxNode {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  attributes?: Record<string, OnnxAttribute>;
}

export interface OnnxModel {
  irVersion: number;
  /** The default domain's opset. */
  opset: number;
  producerName: string;
  producerVersion?: string;
  graphName: string;
  nodes: readonly OnnxNode[];
  initializers: readonly OnnxTensorData[];
  inputs: readonly OnnxValueInfo[];
  outputs: readonly OnnxValueInfo[];
  /** metadata_props, in this order. */
  metadata: Record<string, string>;
}

/** TensorProto.DataType values this writer uses. */
export const ONNX_FLOAT = 1;
export const ONNX_INT64 = 7;

// Field numbers (onnx.proto).
const MODEL = { irVersion: 1, producerName: 2, producerVersion: 3, graph: 7, opsetImport: 8, metadataProps: 14 } as const;
const OPSET = { domain: 1, version: 2 } as const;
const GRAPH = { node: 1, name: 2, initializer: 5, input: 11, output: 12 } as const;
const NODE = { input: 1, output: 2, name: 3, opType: 4, attribute: 5 } as const;
const ATTRIBUTE = { name: 1, f: 2, i: 3, s: 4, t: 5, floats: 7, ints: 8, type: 20 } as const;
/** AttributeProto.AttributeType. */
const ATTRIBUTE_TYPE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;
const TENSOR = { dims: 1, dataType: 2, name: 8, rawData: 9 } as const;
const VALUE_INFO = { name: 1, type: 2 } as const;
const TYPE_TENSOR = 1;
const TENSOR_TYPE = { elemType: 1, shape: 2 } as const;
const SHAPE_DIM = 1;
const DIM = { value: 1, param: 2 } as const;
const ENTRY = { key: 1, value: 2 } as const;

const WIRE_VARINT = 0;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

const utf8 = new TextEncoder();
const littleEndian = os.endianness() === "LE";

/** One protobuf message being written: a list of byte chunks (big payloads are kept as views, not copied). */
class ProtoMessage {
  readonly parts: Uint8Array[] = [];
  length = 0;

  private push(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.length += bytes.length;
  }

  private key(field: number, wire: number): void {
    this.push(varint(field * 8 + wire));
  }

  int(field: number, value: number): this {
    this.key(field, WIRE_VARINT);
    this.push(varint(value));
    return this;
  }

  float(field: number, value: number): this {
    this.key(field, WIRE_FIXED32);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.push(bytes);
    return this;
  }

  bytes(field: number, bytes: Uint8Array): this {
    this.key(field, WIRE_LENGTH_DELIMITED);
    this.push(varint(bytes.length));
    this.push(bytes);
    return this;
  }

  string(field: number, text: string): this {
    return this.bytes(field, utf8.encode(text));
  }

  message(field: number, message: ProtoMessage): this {
    this.key(field, WIRE_LENGTH_DELIMITED);
    this.push(varint(message.length));
    for (const part of message.parts) this.push(part);
    return this;
  }

  packedInts(field: number, values: readonly number[]): this {
    const packed = new ProtoMessage();
    for (const value of values) packed.push(varint(value));
    return this.message(field, packed);
  }

  packedFloats(field: number, values: readonly number[]): this {
    const bytes = new Uint8Array(values.length * 4);
    const view = new DataView(bytes.buffer);
    values.forEach((value, i) => view.setFloat32(i * 4, value, true));
    return this.bytes(field, bytes);
  }
}

/** A protobuf varint of an int64 (negative values as ten bytes of two's complement, as protobuf writes them). */
function varint(value: number): Uint8Array {
  if (!Number.isSafeInteger(value)) throw new RangeError(`ONNX writer: ${value} is not an integer`);
  if (value >= 0 && value < 0x80) return Uint8Array.of(value);
  let rest = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (rest >= 0x80n) {
    out.push(Number(rest & 0x7fn) | 0x80);
    rest >>= 7n;
  }
  out.push(Number(rest));
  return Uint8Array.from(out);
}

function tensorMessage(tensor: OnnxTensorData): ProtoMessage {
  const message = new ProtoMessage();
  const count = tensor.dims.reduce((a, b) => a * b, 1);
  if (tensor.dims.length > 0) message.packedInts(TENSOR.dims, tensor.dims);
  if ("float32" in tensor) {
    if (tensor.float32.length !== count) throw new Error(`ONNX writer: ${tensor.name} holds ${tensor.float32.length} values, its shape ${tensor.dims.join("x")} needs ${count}`);
    message.int(TENSOR.dataType, ONNX_FLOAT).string(TENSOR.name, tensor.name).bytes(TENSOR.rawData, float32Bytes(tensor.float32));
  } else {
    if (tensor.int64.length !== count) throw new Error(`ONNX writer: ${tensor.name} holds ${tensor.int64.length} values, its shape ${tensor.dims.join("x")} needs ${count}`);
    const raw = new Uint8Array(count * 8);
    const view = new DataView(raw.buffer);
    tensor.int64.forEach((value, i) => view.setBigInt64(i * 8, BigInt(value), true));
    message.int(TENSOR.dataType, ONNX_INT64).string(TENSOR.name, tensor.name).bytes(TENSOR.rawData, raw);
  }
  return message;
}

/** raw_data is little-endian: a view of the array where the machine is, a swapped copy where it is not. */
function float32Bytes(data: Float32Array): Uint8Array {
  if (littleEndian) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const bytes = new Uint8Array(data.length * 4);
  const view = new DataView(bytes.buffer);
  data.forEach((value, i) => view.setFloat32(i * 4, value, true));
  return bytes;
}

function attributeMessage(name: string, attribute: OnnxAttribute): ProtoMessage {
  const message = new ProtoMessage().string(ATTRIBUTE.name, name);
  if ("int" in attribute) return message.int(ATTRIBUTE.i, attribute.int).int(ATTRIBUTE.type, ATTRIBUTE_TYPE.int);
  if ("ints" in attribute) return message.packedInts(ATTRIBUTE.ints, attribute.ints).int(ATTRIBUTE.type, ATTRIBUTE_TYPE.ints);
  if ("float" in attribute) return message.float(ATTRIBUTE.f, attribute.float).int(ATTRIBUTE.type, ATTRIBUTE_TYPE.float);
  if ("floats" in attribute) return message.packedFloats(ATTRIBUTE.floats, attribute.floats).int(ATTRIBUTE.type, ATTRIBUTE_TYPE.floats);
  if ("string" in attribute) return message.string(ATTRIBUTE.s, attribute.string).int(ATTRIBUTE.type, ATTRIBUTE_TYPE.string);
  return message.message(ATTRIBUTE.t, tensorMessage(attribute.tensor)).int(ATTRIBUTE.type, ATTRIBUTE_TYPE.tensor);
}

function nodeMessage(node: OnnxNode): ProtoMessage {
  const message = new ProtoMessage();
  for (const input of node.inputs) message.string(NODE.input, input);
  for (const output of node.outputs) message.string(NODE.output, output);
  if (node.name) message.string(NODE.name, node.name);
  message.string(NODE.opType, node.opType);
  for (const [name, attribute] of Object.entries(node.attributes ?? {})) message.message(NODE.attribute, attributeMessage(name, attribute));
  return message;
}

function valueInfoMessage(info: OnnxValueInfo): ProtoMessage {
  const shape = new ProtoMessage();
  for (const dim of info.dims) {
    shape.message(SHAPE_DIM, typeof dim === "number" ? new ProtoMessage().int(DIM.value, dim) : new ProtoMessage().string(DIM.param, dim));
  }
  const tensorType = new ProtoMessage().int(TENSOR_TYPE.elemType, info.elemType ?? ONNX_FLOAT).message(TENSOR_TYPE.shape, shape);
  return new ProtoMessage().string(VALUE_INFO.name, info.name).message(VALUE_INFO.type, new ProtoMessage().message(TYPE_TENSOR, tensorType));
}

/** The model's bytes, as chunks (the initializers' data are views of the model's arrays). */
export function encodeOnnxModel(model: OnnxModel): Uint8Array[] {
  const graph = new ProtoMessage();
  for (const node of model.nodes) graph.message(GRAPH.node, nodeMessage(node));
  graph.string(GRAPH.name, model.graphName);
  for (const tensor of model.initializers) graph.message(GRAPH.initializer, tensorMessage(tensor));
  for (const input of model.inputs) graph.message(GRAPH.input, valueInfoMessage(input));
  for (const output of model.outputs) graph.message(GRAPH.output, valueInfoMessage(output));

  const message = new ProtoMessage().int(MODEL.irVersion, model.irVersion).string(MODEL.producerName, model.producerName);
  if (model.producerVersion) message.string(MODEL.producerVersion, model.producerVersion);
  message.message(MODEL.graph, graph);
  message.message(MODEL.opsetImport, new ProtoMessage().string(OPSET.domain, "").int(OPSET.version, model.opset));
  for (const [key, value] of Object.entries(model.metadata)) {
    message.message(MODEL.metadataProps, new ProtoMessage().string(ENTRY.key, key).string(ENTRY.value, value));
  }
  return message.parts;
}

/** The encoded model's size in bytes. */
export function onnxModelSize(model: OnnxModel): number {
  return encodeOnnxModel(model).reduce((sum, part) => sum + part.length, 0);
}

/** Writes the model to `path` (replacing it). */
export async function writeOnnxModel(path: string, model: OnnxModel): Promise<void> {
  const file = await fs.open(path, "w");
  try {
    // writev takes a bounded number of buffers per call: write in batches.
    const parts = encodeOnnxModel(model);
    for (let i = 0; i < parts.length; i += 512) await file.writev(parts.slice(i, i + 512));
  } finally {
    await file.close();
  }
}
