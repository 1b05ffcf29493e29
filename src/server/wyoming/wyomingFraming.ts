// The Wyoming protocol's framing (as the `wyoming` Python package reads and writes it, wyoming/event.py): an event is
// one JSON line `{type, data?, data_length?, payload_length?, version?}`, then `data_length` bytes of JSON (merged into
// `data`: newer writers put all of `data` there), then `payload_length` bytes of payload (audio). The reader takes the
// bytes as they arrive and gives back whole events; anything that does not keep to the framing, or exceeds its
// bounds, is a WyomingProtocolError (the connection is closed with its message as the logged reason).

/** What bounds one event. */
export interface WyomingBounds {
  /** Longest header line, in bytes (newline included). */
  maxHeaderBytes: number;
  /** Longest extra data block, in bytes. */
  maxDataBytes: number;
  /** Longest payload, in bytes. */
  maxPayloadBytes: number;
}

export const DEFAULT_WYOMING_BOUNDS: WyomingBounds = { maxHeaderBytes: 64 * 1024, maxDataBytes: 64 * 1024, maxPayloadBytes: 1024 * 1024 };

export interface WyomingEvent {
  type: string;
  data: Record<string, unknown>;
  payload: Buffer | undefined;
}

export class WyomingProtocolError extends Error {}

/** Bytes in, whole events out. */
export class WyomingReader {
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  /** The header read, while its data and payload are still arriving. */
  private pending: { type: string; data: Record<string, unknown>; dataLength: number; payloadLength: number } | undefined;

  constructor(private readonly bounds: WyomingBounds = DEFAULT_WYOMING_BOUNDS) {}

  /** Takes `chunk`; returns the events it completes (throws WyomingProtocolError on a framing error). */
  push(chunk: Buffer): WyomingEvent[] {
    this.buffered.push(chunk);
    this.bufferedBytes += chunk.length;
    const events: WyomingEvent[] = [];
    for (;;) {
      const event = this.next();
      if (!event) return events;
      events.push(event);
    }
  }

  private next(): WyomingEvent | undefined {
    if (!this.pending) {
      const all = this.take(0);
      const newline = all.indexOf(0x0a);
      if (newline < 0) {
        if (all.length >= this.bounds.maxHeaderBytes) throw new WyomingProtocolError(`header line longer than ${this.bounds.maxHeaderBytes} bytes`);
        return undefined;
      }
      if (newline + 1 > this.bounds.maxHeaderBytes) throw new WyomingProtocolError(`header line longer than ${this.bounds.maxHeaderBytes} bytes`);
      this.pending = parseHeader(all.subarray(0, newline), this.bounds);
      this.consume(newline + 1);
    }
    const { type, data, dataLength, payloadLength } = this.pending;
    if (this.bufferedBytes < dataLength + payloadLength) return undefined;
    const rest = this.take(dataLength + payloadLength);
    if (dataLength > 0) Object.assign(data, parseObject(rest.subarray(0, dataLength), "extra data"));
    const payload = payloadLength > 0 ? Buffer.from(rest.subarray(dataLength, dataLength + payloadLength)) : undefined;
    this.consume(dataLength + payloadLength);
    this.pending = undefined;
    return { type, data, payload };
  }

  /** The buffered bytes as one Buffer (at least `atLeast` of them when there are). */
  private take(atLeast: number): Buffer {
    if (this.buffered.length > 1 || (atLeast > 0 && this.buffered[0]!.length < atLeast)) this.buffered = [Buffer.concat(this.buffered)];
    return this.buffered[0] ?? Buffer.alloc(0);
  }

  private consume(bytes: number): void {
    const all = this.take(bytes);
    const rest = all.subarray(bytes);
    this.buffered = rest.length > 0 ? [rest] : [];
    this.bufferedBytes = rest.length;
  }
}

function parseObject(bytes: Buffer, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString("utf8"));
  } catch {
    throw new WyomingProtocolError(`${what} is not JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new WyomingProtocolError(`${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

function length(value: unknown, name: string, max: number): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) throw new WyomingProtocolError(`${name} is not a length`);
  if (value > max) throw new WyomingProtocolError(`${name} ${value} is over the limit of ${max} bytes`);
  return value;
}

function parseHeader(line: Buffer, bounds: WyomingBounds): NonNullable<WyomingReader["pending"]> {
  const header = parseObject(line, "header line");
  if (typeof header.type !== "string" || header.type.length === 0) throw new WyomingProtocolError("header line has no type");
  const data = header.data ?? {};
  if (typeof data !== "object" || data === null || Array.isArray(data)) throw new WyomingProtocolError("data is not a JSON object");
  return {
    type: header.type,
    data: { ...(data as Record<string, unknown>) },
    dataLength: length(header.data_length, "data_length", bounds.maxDataBytes),
    payloadLength: length(header.payload_length, "payload_length", bounds.maxPayloadBytes),
  };
}

/** One event on the wire: its data in the extra data block (as the `wyoming` package writes it since 1.x). */
export function encodeWyomingEvent(type: string, data?: Record<string, unknown>, payload?: Buffer): Buffer {
  const header: Record<string, unknown> = { type, version: WYOMING_VERSION };
  const dataBytes = data && Object.keys(data).length > 0 ? Buffer.from(JSON.stringify(data)) : undefined;
  if (dataBytes) header.data_length = dataBytes.length;
  if (payload && payload.length > 0) header.payload_length = payload.length;
  return Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), ...(dataBytes ? [dataBytes] : []), ...(payload && payload.length > 0 ? [payload] : [])]);
}

/** The protocol version written in each header (transcript streaming came with 1.7). */
export const WYOMING_VERSION = "1.8.0";
