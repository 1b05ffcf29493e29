// The structure of one Opus packet (RFC 6716 §3): its TOC byte, how many frames it holds and how long they are,
// checked against the packet's length as libopus's own opus_packet_parse does (rules R1-R7). A WebRTC call's audio is
// charged to the session's speed limit by these durations before any of it is decoded, and a packet that breaks a
// rule is dropped here rather than handed to the decoder.

/** Samples per channel one packet holds at most (120 ms at 48 kHz, R5). */
export const MAX_PACKET_SAMPLES = 5760;
/** Bytes one frame holds at most (R2). */
const MAX_FRAME_BYTES = 1275;

/** Samples at 48 kHz of one frame of each TOC configuration (SILK 10/20/40/60 ms, hybrid 10/20 ms, CELT 2.5/5/10/20 ms). */
function frameSamples(config: number): number {
  if (config < 12) return [480, 960, 1920, 2880][config % 4]!;
  if (config < 16) return [480, 960][config % 2]!;
  return [120, 240, 480, 960][config % 4]!;
}

/** A frame length as code 2 and code 3 packets write it (one or two bytes); undefined past the end. */
function frameLength(packet: Uint8Array, at: number): { length: number; bytes: number } | undefined {
  const first = packet[at];
  if (first === undefined) return undefined;
  if (first < 252) return { length: first, bytes: 1 };
  const second = packet[at + 1];
  return second === undefined ? undefined : { length: first + 4 * second, bytes: 2 };
}

/** Samples at 48 kHz (per channel) the packet decodes to; 0 when it breaks a rule of RFC 6716 §3.4. */
export function opusPacketSamples(packet: Uint8Array): number {
  const toc = packet[0];
  if (toc === undefined) return 0;
  const perFrame = frameSamples(toc >> 3);
  const rest = packet.length - 1;
  switch (toc & 3) {
    case 0:
      return rest <= MAX_FRAME_BYTES ? perFrame : 0;
    case 1:
      return rest % 2 === 0 && rest / 2 <= MAX_FRAME_BYTES ? 2 * perFrame : 0;
    case 2: {
      const first = frameLength(packet, 1);
      if (!first) return 0;
      const second = rest - first.bytes - first.length;
      return second >= 0 && first.length <= MAX_FRAME_BYTES && second <= MAX_FRAME_BYTES ? 2 * perFrame : 0;
    }
    default:
      return code3Samples(packet, perFrame);
  }
}

/** A code 3 packet: a count byte (VBR flag, padding flag, M frames), padding lengths, frame lengths (VBR), frames. */
function code3Samples(packet: Uint8Array, perFrame: number): number {
  const count = packet[1];
  if (count === undefined) return 0;
  const frames = count & 0x3f;
  if (frames === 0 || frames * perFrame > MAX_PACKET_SAMPLES) return 0;
  let at = 2;
  let padding = 0;
  if (count & 0x40) {
    // Padding length: each 255 byte adds 254 and another byte follows.
    for (;;) {
      const byte = packet[at++];
      if (byte === undefined) return 0;
      padding += byte === 255 ? 254 : byte;
      if (byte !== 255) break;
    }
  }
  let left = packet.length - at - padding;
  if (left < 0) return 0;
  if (count & 0x80) {
    // VBR: every frame's length but the last's, then the frames.
    for (let frame = 0; frame < frames - 1; frame++) {
      const length = frameLength(packet, at);
      if (!length || length.length > MAX_FRAME_BYTES) return 0;
      at += length.bytes;
      left -= length.bytes + length.length;
      if (left < 0) return 0;
    }
    return left <= MAX_FRAME_BYTES ? frames * perFrame : 0;
  }
  return left % frames === 0 && left / frames <= MAX_FRAME_BYTES ? frames * perFrame : 0;
}
