import { describe, expect, it } from 'vitest';
import { SentencePieceTokenizer } from '../src/sentencepiece.js';
import { PieceType, parseSentencePieceModel } from '../src/sentencepiece-model.js';

// A minimal protobuf writer, enough to build ModelProto messages by hand.
function varint(value: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}
const tag = (field: number, wire: number) => varint((field << 3) | wire);
const int = (field: number, value: number) => [...tag(field, 0), ...varint(value)];
const bytesField = (field: number, data: number[]) => [...tag(field, 2), ...varint(data.length), ...data];
const str = (field: number, s: string) => bytesField(field, [...new TextEncoder().encode(s)]);
const float = (field: number, f: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, f, true);
  return [...tag(field, 5), ...b];
};
const piece = (p: string, score: number, type: PieceType) =>
  bytesField(1, [...str(1, p), ...float(2, score), ...int(3, type)]);

function model(opts: { modelType?: number; pieces?: number[][]; extraTrainer?: number[] } = {}): Uint8Array {
  const pieces = opts.pieces ?? [
    piece('<unk>', 0, PieceType.Unknown),
    piece('<s>', 0, PieceType.Control),
    piece('</s>', 0, PieceType.Control),
    piece('▁', -1, PieceType.Normal),
    piece('a', -2, PieceType.Normal),
    piece('b', -2, PieceType.Normal),
    piece('▁a', -1.5, PieceType.Normal),
    piece('ab', -0.5, PieceType.Normal),
  ];
  const trainer = [
    ...int(3, opts.modelType ?? 2),
    ...int(40, 0),
    ...int(41, 1),
    ...int(42, 2),
    ...int(43, -1), // pad_id = -1: a 10-byte varint on the wire
    ...(opts.extraTrainer ?? []),
  ];
  const normalizer = [...str(1, 'identity'), ...int(3, 1), ...int(4, 0), ...int(5, 1)];
  // An unknown top-level field (self_test_data, 4) must be skipped.
  return Uint8Array.from([
    ...pieces.flat(),
    ...bytesField(2, trainer),
    ...bytesField(3, normalizer),
    ...bytesField(4, [8, 1]),
  ]);
}

describe('SentencePiece ModelProto reader', () => {
  it('reads pieces, scores, types, trainer and normalizer specs (negative int32 as a 10-byte varint)', () => {
    const bytes = model();
    expect(int(43, -1).length).toBe(12);
    const proto = parseSentencePieceModel(bytes);
    expect(proto.pieces.map((p) => p.piece)).toEqual(['<unk>', '<s>', '</s>', '▁', 'a', 'b', '▁a', 'ab']);
    expect(proto.pieces[7]).toEqual({ piece: 'ab', score: -0.5, type: PieceType.Normal });
    expect(proto.trainerSpec).toMatchObject({
      modelType: 2,
      unkId: 0,
      bosId: 1,
      eosId: 2,
      padId: -1,
      byteFallback: false,
    });
    expect(proto.normalizerSpec).toMatchObject({
      name: 'identity',
      addDummyPrefix: true,
      removeExtraWhitespaces: false,
    });
  });

  it('runs BPE on a hand-built model: highest score merges first, unknown characters become <unk>', () => {
    const tok = new SentencePieceTokenizer(model());
    expect(tok.padTokenId).toBeUndefined();
    // "▁ab": candidates "▁a" (-1.5) and "ab" (-0.5); "ab" wins, then "▁"+"ab" is no piece.
    expect(tok.encode('ab', { addSpecialTokens: false }).map((id) => tok.idToToken(id))).toEqual(['▁', 'ab']);
    expect(tok.encode('ac', { addSpecialTokens: false }).map((id) => tok.idToToken(id))).toEqual([
      '▁a',
      '<unk>',
    ]);
    expect(tok.decode(tok.encode('ac'))).toBe('a ⁇ ');
  });

  it('rejects WORD/CHAR models, duplicate pieces and models without <unk>', () => {
    expect(() => new SentencePieceTokenizer(model({ modelType: 3 }))).toThrow(/model_type 3 \(WORD\)/);
    const dup = [
      piece('<unk>', 0, PieceType.Unknown),
      piece('a', -1, PieceType.Normal),
      piece('a', -2, PieceType.Normal),
    ];
    expect(() => new SentencePieceTokenizer(model({ pieces: dup }))).toThrow(
      /lists the piece "a" twice \(ids 1 and 2\)/,
    );
    expect(() => new SentencePieceTokenizer(model({ pieces: [piece('a', -1, PieceType.Normal)] }))).toThrow(
      /no UNKNOWN \(<unk>\) piece/,
    );
    expect(() => new SentencePieceTokenizer(model({ extraTrainer: int(35, 1) }))).toThrow(
      /enables byte_fallback but lacks some of the 256 <0xNN> pieces/,
    );
  });
});
