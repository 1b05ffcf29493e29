// An ONNX model's metadata_props (the key/value pairs sherpa-onnx's exports carry: window_size, output_dim, ...),
// read from the file by walking ModelProto's top-level fields and skipping over the others (the graph and its
// weights among them) without reading them: a few small reads, whatever the model's size.

import { promises as fs } from "node:fs";

// Field numbers (onnx.proto): ModelProto.metadata_props, StringStringEntryProto.{key, value}.
const MODEL_METADATA_PROPS = 14;
const ENTRY_KEY = 1;
const ENTRY_VALUE = 2;

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

/** The longest metadata entry read: sherpa's are short strings; a bigger one means a file that is not a model. */
const MAX_ENTRY_BYTES = 1 << 20;

/** A varint at `pos` of `buf` and the position after it, or undefined when `buf` ends inside it. */
function varintAt(buf: Uint8Array, pos: number): [number, number] | undefined {
  let result = 0;
  let scale = 1;
  for (let i = pos; i < buf.length; i++) {
    const byte = buf[i] as number;
    result += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return [result, i + 1];
    scale *= 128;
    if (scale > 2 ** 63) throw new Error("not an ONNX model (a protobuf varint is too long)");
  }
  return undefined;
}

function entry(bytes: Uint8Array): [string, string] {
  const decoder = new TextDecoder();
  let key = "";
  let value = "";
  let pos = 0;
  while (pos < bytes.length) {
    const tag = varintAt(bytes, pos);
    if (!tag) throw new Error("not an ONNX model (a metadata entry is cut)");
    const wire = tag[0] % 8;
    if (wire !== WIRE_LENGTH_DELIMITED) throw new Error("not an ONNX model (a metadata entry holds a non-string field)");
    const length = varintAt(bytes, tag[1]);
    if (!length || length[1] + length[0] > bytes.length) throw new Error("not an ONNX model (a metadata entry is cut)");
    const text = decoder.decode(bytes.subarray(length[1], length[1] + length[0]));
    const field = Math.floor(tag[0] / 8);
    if (field === ENTRY_KEY) key = text;
    else if (field === ENTRY_VALUE) value = text;
    pos = length[1] + length[0];
  }
  return [key, value];
}

/** The model file's metadata_props as a record (the last value wins for a repeated key); throws on a file that is no ONNX model. */
export async function readOnnxMetadata(path: string): Promise<Record<string, string>> {
  const file = await fs.open(path, "r");
  try {
    const size = (await file.stat()).size;
    const metadata: Record<string, string> = {};
    const head = new Uint8Array(20); // a key and a length: two varints of at most 10 bytes
    let pos = 0;
    while (pos < size) {
      const { bytesRead } = await file.read(head, 0, head.length, pos);
      const view = head.subarray(0, bytesRead);
      const tag = varintAt(view, 0);
      if (!tag || tag[0] < 8) throw new Error("not an ONNX model (bad protobuf field)");
      const field = Math.floor(tag[0] / 8);
      const wire = tag[0] % 8;
      if (wire === WIRE_VARINT) {
        const value = varintAt(view, tag[1]);
        if (!value) throw new Error("not an ONNX model (cut inside a field)");
        pos += value[1];
      } else if (wire === WIRE_FIXED64 || wire === WIRE_FIXED32) {
        pos += tag[1] + (wire === WIRE_FIXED64 ? 8 : 4);
      } else if (wire === WIRE_LENGTH_DELIMITED) {
        const length = varintAt(view, tag[1]);
        if (!length) throw new Error("not an ONNX model (cut inside a field)");
        const start = pos + length[1];
        if (start + length[0] > size) throw new Error("not an ONNX model (a field runs past the end of the file)");
        if (field === MODEL_METADATA_PROPS) {
          if (length[0] > MAX_ENTRY_BYTES) throw new Error("not an ONNX model (a metadata entry is too long)");
          const bytes = new Uint8Array(length[0]);
          await file.read(bytes, 0, bytes.length, start);
          const [key, value] = entry(bytes);
          metadata[key] = value;
        }
        pos = start + length[0];
      } else {
        throw new Error(`not an ONNX model (protobuf wire type ${wire})`);
      }
    }
    if (pos !== size) throw new Error("not an ONNX model (cut inside a field)");
    return metadata;
  } finally {
    await file.close();
  }
}
