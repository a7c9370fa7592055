import { TokenizerError } from './errors.js';

/** sentencepiece_model.proto: ModelProto.SentencePiece.Type. */
export enum PieceType {
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
}

export interface SentencePiecePiece {
  piece: string;
  score: number;
  type: PieceType;
}

export interface SentencePieceModelProto {
  pieces: SentencePiecePiece[];
  trainerSpec: {
    /** 1 = UNIGRAM, 2 = BPE, 3 = WORD, 4 = CHAR. */
    modelType: number;
    byteFallback: boolean;
    treatWhitespaceAsSuffix: boolean;
    unkId: number;
    bosId: number;
    eosId: number;
    padId: number;
    unkSurface: string;
  };
  normalizerSpec: {
    name: string;
    precompiledCharsmap: Uint8Array;
    addDummyPrefix: boolean;
    removeExtraWhitespaces: boolean;
    escapeWhitespaces: boolean;
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The few protobuf wire-format rules ModelProto needs: varints (int32 may be 10 bytes when negative),
 * fixed32 floats, and length-delimited strings/bytes/sub-messages. Unknown fields are skipped.
 */
class ProtoReader {
  pos: number;
  constructor(
    private readonly buf: Uint8Array,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  private fail(what: string): never {
    throw new TokenizerError(
      'MALFORMED_SENTENCEPIECE_MODEL',
      `tokenizer.model is not a valid SentencePiece model: ${what} at byte ${this.pos}. Check that the file is a SentencePiece .model (not a tiktoken rank file, not truncated).`,
    );
  }

  /** Low 32 bits of a varint as a signed int32 (protobuf int32/enum/bool), bigger bits discarded. */
  varint32(): number {
    let result = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = this.buf[this.pos++];
      if (shift < 32) result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result | 0;
    }
    return this.fail('varint longer than 10 bytes');
  }

  float32(): number {
    if (this.pos + 4 > this.end) this.fail('truncated float');
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }

  bytes(): Uint8Array {
    const len = this.varint32();
    if (len < 0 || this.pos + len > this.end) this.fail(`length ${len} runs past the end of the message`);
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  string(): string {
    const b = this.bytes();
    try {
      return utf8.decode(b);
    } catch {
      return this.fail('a string field is not valid UTF-8');
    }
  }

  sub(): ProtoReader {
    const b = this.bytes();
    return new ProtoReader(
      this.buf,
      b.byteOffset - this.buf.byteOffset,
      b.byteOffset - this.buf.byteOffset + b.length,
    );
  }

  tag(): { field: number; wire: number } {
    const t = this.varint32() >>> 0;
    const field = t >>> 3;
    if (field === 0) this.fail('field number 0');
    return { field, wire: t & 7 };
  }

  skip(wire: number): void {
    if (wire === 0) this.varint32();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else this.fail(`unsupported wire type ${wire}`);
    if (this.pos > this.end) this.fail('truncated field');
  }
}

function readPiece(r: ProtoReader): SentencePiecePiece {
  const p: SentencePiecePiece = { piece: '', score: 0, type: PieceType.Normal };
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === 2) p.piece = r.string();
    else if (field === 2 && wire === 5) p.score = r.float32();
    else if (field === 3 && wire === 0) p.type = r.varint32();
    else r.skip(wire);
  }
  return p;
}

export function parseSentencePieceModel(data: Uint8Array): SentencePieceModelProto {
  if (!(data instanceof Uint8Array)) {
    throw new TokenizerError(
      'MALFORMED_SENTENCEPIECE_MODEL',
      'a SentencePiece model must be given as bytes (Uint8Array).',
    );
  }
  const model: SentencePieceModelProto = {
    pieces: [],
    trainerSpec: {
      modelType: 1,
      byteFallback: false,
      treatWhitespaceAsSuffix: false,
      unkId: 0,
      bosId: 1,
      eosId: 2,
      padId: -1,
      unkSurface: ' \u2047 ',
    },
    normalizerSpec: {
      name: '',
      precompiledCharsmap: new Uint8Array(0),
      addDummyPrefix: true,
      removeExtraWhitespaces: true,
      escapeWhitespaces: true,
    },
  };
  const r = new ProtoReader(data);
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === 2) model.pieces.push(readPiece(r.sub()));
    else if (field === 2 && wire === 2) {
      const t = r.sub();
      const spec = model.trainerSpec;
      while (!t.done) {
        const f = t.tag();
        if (f.field === 3 && f.wire === 0) spec.modelType = t.varint32();
        else if (f.field === 35 && f.wire === 0) spec.byteFallback = t.varint32() !== 0;
        else if (f.field === 24 && f.wire === 0) spec.treatWhitespaceAsSuffix = t.varint32() !== 0;
        else if (f.field === 40 && f.wire === 0) spec.unkId = t.varint32();
        else if (f.field === 41 && f.wire === 0) spec.bosId = t.varint32();
        else if (f.field === 42 && f.wire === 0) spec.eosId = t.varint32();
        else if (f.field === 43 && f.wire === 0) spec.padId = t.varint32();
        else if (f.field === 44 && f.wire === 2) spec.unkSurface = t.string();
        else t.skip(f.wire);
      }
    } else if (field === 3 && wire === 2) {
      const n = r.sub();
      const spec = model.normalizerSpec;
      while (!n.done) {
        const f = n.tag();
        if (f.field === 1 && f.wire === 2) spec.name = n.string();
        else if (f.field === 2 && f.wire === 2) spec.precompiledCharsmap = n.bytes();
        else if (f.field === 3 && f.wire === 0) spec.addDummyPrefix = n.varint32() !== 0;
        else if (f.field === 4 && f.wire === 0) spec.removeExtraWhitespaces = n.varint32() !== 0;
        else if (f.field === 5 && f.wire === 0) spec.escapeWhitespaces = n.varint32() !== 0;
        else n.skip(f.wire);
      }
    } else r.skip(wire);
  }
  if (model.pieces.length === 0) {
    throw new TokenizerError(
      'MALFORMED_SENTENCEPIECE_MODEL',
      'tokenizer.model holds no pieces; it is empty, truncated or not a SentencePiece model.',
    );
  }
  return model;
}
