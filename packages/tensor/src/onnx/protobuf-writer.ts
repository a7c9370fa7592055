/**
 * A minimal Protocol Buffers wire-format encoder: just what serialising an ONNX ModelProto needs.
 * Nested messages and large byte fields are kept as separate chunks and joined once in `finish()`,
 * so hundreds of MB of weights are copied exactly once.
 */
const WIRE_VARINT = 0;
const WIRE_FIXED32 = 5;
const WIRE_LENGTH_DELIMITED = 2;

const textEncoder = new TextEncoder();

export class ProtobufWriter {
  private readonly parts: Uint8Array[] = [];
  private scratch: number[] = [];
  private byteLength = 0;

  get length(): number {
    return this.byteLength + this.scratch.length;
  }

  private flushScratch(): void {
    if (this.scratch.length === 0) return;
    this.parts.push(Uint8Array.from(this.scratch));
    this.byteLength += this.scratch.length;
    this.scratch = [];
  }

  private pushBytes(bytes: Uint8Array): void {
    if (bytes.length < 64) {
      for (const b of bytes) this.scratch.push(b);
      return;
    }
    this.flushScratch();
    this.parts.push(bytes);
    this.byteLength += bytes.length;
  }

  /** Unsigned varint for values up to 2^53; negative int64 values use ten bytes (two's complement). */
  private varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    if (v < 0x80n) {
      this.scratch.push(Number(v));
      return;
    }
    while (v >= 0x80n) {
      this.scratch.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.scratch.push(Number(v));
  }

  private tag(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  int(field: number, value: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.varint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    for (const x of b) this.scratch.push(x);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.varint(value.length);
    this.pushBytes(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, textEncoder.encode(value));
  }

  packedInts(field: number, values: readonly (number | bigint)[]): this {
    const inner = new ProtobufWriter();
    for (const v of values) inner.varint(v);
    return this.message(field, inner);
  }

  packedFloats(field: number, values: readonly number[]): this {
    const b = new Uint8Array(values.length * 4);
    const view = new DataView(b.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
    return this.bytes(field, b);
  }

  message(field: number, inner: ProtobufWriter): this {
    inner.flushScratch();
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.varint(inner.byteLength);
    this.flushScratch();
    for (const p of inner.parts) this.parts.push(p);
    this.byteLength += inner.byteLength;
    return this;
  }

  finish(): Uint8Array {
    this.flushScratch();
    const out = new Uint8Array(this.byteLength);
    let offset = 0;
    for (const p of this.parts) {
      out.set(p, offset);
      offset += p.length;
    }
    return out;
  }
}
