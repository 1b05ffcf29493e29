// The weights (graph initializers) of an ONNX model, read straight from its protobuf bytes: enough of the format to
// take a model's float tensors, without an ONNX runtime or a protobuf library.

/** One float32 initializer of the top-level graph. */
export interface OnnxTensor {
  name: string;
  /** ONNX order (outermost first). */
  dims: number[];
  data: Float32Array;
}

/** ONNX TensorProto.DataType FLOAT. */
const ONNX_FLOAT = 1;

// Field numbers (onnx.proto): ModelProto.graph, GraphProto.initializer, TensorProto.{dims, data_type, float_data,
// name, raw_data}.
const MODEL_GRAPH = 7;
const GRAPH_INITIALIZER = 5;
const TENSOR_DIMS = 1;
const TENSOR_DATA_TYPE = 2;
const TENSOR_FLOAT_DATA = 4;
const TENSOR_NAME = 8;
const TENSOR_RAW_DATA = 9;

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

interface Field {
  number: number;
  wire: number;
  /** The value of a varint field. */
  value: number;
  /** The bytes of a length-delimited field. */
  bytes: Uint8Array;
}

function readVarint(buf: Uint8Array, pos: number): [number, number] {
  let result = 0;
  let scale = 1;
  for (;;) {
    if (pos >= buf.length) throw new Error("ONNX model: truncated varint");
    const byte = buf[pos++] as number;
    result += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return [result, pos];
    scale *= 128;
    if (scale > 2 ** 63) throw new Error("ONNX model: varint too long");
  }
}

function* fields(buf: Uint8Array): Generator<Field> {
  const empty = new Uint8Array(0);
  let pos = 0;
  while (pos < buf.length) {
    const [key, afterKey] = readVarint(buf, pos);
    pos = afterKey;
    const number = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === WIRE_VARINT) {
      const [value, next] = readVarint(buf, pos);
      pos = next;
      yield { number, wire, value, bytes: empty };
    } else if (wire === WIRE_LENGTH_DELIMITED) {
      const [length, next] = readVarint(buf, pos);
      if (next + length > buf.length) throw new Error("ONNX model: truncated field");
      pos = next + length;
      yield { number, wire, value: 0, bytes: buf.subarray(next, pos) };
    } else if (wire === WIRE_FIXED64 || wire === WIRE_FIXED32) {
      pos += wire === WIRE_FIXED64 ? 8 : 4;
      yield { number, wire, value: 0, bytes: empty };
    } else {
      throw new Error(`ONNX model: unsupported protobuf wire type ${wire}`);
    }
  }
}

function packedVarints(bytes: Uint8Array): number[] {
  const out: number[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const [value, next] = readVarint(bytes, pos);
    out.push(value);
    pos = next;
  }
  return out;
}

function littleEndianFloats(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

function readTensor(bytes: Uint8Array): OnnxTensor | undefined {
  let name = "";
  const dims: number[] = [];
  let dataType = 0;
  let data: Float32Array | undefined;
  for (const field of fields(bytes)) {
    if (field.number === TENSOR_DIMS) {
      if (field.wire === WIRE_VARINT) dims.push(field.value);
      else dims.push(...packedVarints(field.bytes));
    } else if (field.number === TENSOR_DATA_TYPE) dataType = field.value;
    else if (field.number === TENSOR_NAME) name = new TextDecoder().decode(field.bytes);
    else if (field.number === TENSOR_RAW_DATA || (field.number === TENSOR_FLOAT_DATA && field.wire === WIRE_LENGTH_DELIMITED)) {
      data = littleEndianFloats(field.bytes);
    }
  }
  if (dataType !== ONNX_FLOAT || !data) return undefined;
  const expected = dims.reduce((a, b) => a * b, 1);
  if (data.length !== expected) throw new Error(`ONNX model: tensor ${name} holds ${data.length} values, its shape ${dims.join("x")} needs ${expected}`);
  return { name, dims, data };
}

/** The float32 initializers of the model's top-level graph, by name (other types are left out). */
export function readOnnxInitializers(model: Uint8Array): Map<string, OnnxTensor> {
  const tensors = new Map<string, OnnxTensor>();
  for (const field of fields(model)) {
    if (field.number !== MODEL_GRAPH || field.wire !== WIRE_LENGTH_DELIMITED) continue;
    for (const graphField of fields(field.bytes)) {
      if (graphField.number !== GRAPH_INITIALIZER || graphField.wire !== WIRE_LENGTH_DELIMITED) continue;
      const tensor = readTensor(graphField.bytes);
      if (tensor) tensors.set(tensor.name, tensor);
    }
  }
  return tensors;
}
