import { TokenizerError } from './errors.js';
import { PieceType, parseSentencePieceModel, type SentencePieceModelProto } from './sentencepiece-model.js';
import type { AddedToken, DecodeOptions, EncodeOptions, Tokenizer } from './tokenizer.js';
import { assertIds, assertText, wellFormed } from './tokenizer.js';

const SPACE_SYMBOL = '\u2581';
const FLT_MIN = 1.1754943508222875e-38;
/** unigram_model.cc: an unknown character costs the lowest piece score minus this. */
const UNK_PENALTY = 10;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8');

export interface SentencePieceOptions {
  /** Prepend BOS when `addSpecialTokens` (LLaMA's add_bos_token). Default true. */
  addBosToken?: boolean;
  /** Append EOS when `addSpecialTokens` (LLaMA's add_eos_token). Default false. */
  addEosToken?: boolean;
  /** Overrides the EOS id (generation_config.json's `eos_token_id`). */
  eosTokenId?: number;
}

/**
 * The normalization rules compiled into a model (normalizer_spec.precompiled_charsmap): a Darts-clone
 * double-array trie over UTF-8 bytes whose values point into a NUL-separated blob of replacements.
 */
class PrecompiledCharsmap {
  private readonly units: Uint32Array;
  private readonly replacements: Uint8Array;

  constructor(blob: Uint8Array) {
    const fail = (): never => {
      throw new TokenizerError(
        'MALFORMED_SENTENCEPIECE_MODEL',
        'tokenizer.model has a corrupt precompiled_charsmap (normalization rules); re-export the model.',
      );
    };
    if (blob.length < 4) fail();
    const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    const trieSize = view.getUint32(0, true);
    if (trieSize % 4 !== 0 || 4 + trieSize > blob.length) fail();
    this.units = new Uint32Array(trieSize / 4);
    for (let i = 0; i < this.units.length; i++) this.units[i] = view.getUint32(4 + 4 * i, true);
    this.replacements = blob.subarray(4 + trieSize);
  }

  /** Longest rule matching `bytes` at `pos` (darts-clone commonPrefixSearch): [matched length, replacement]. */
  longestMatch(bytes: Uint8Array, pos: number): [number, Uint8Array] | undefined {
    const units = this.units;
    if (units.length === 0) return undefined;
    let node = 0;
    let unit = units[0];
    node ^= offsetOf(unit);
    let best = -1;
    let bestValue = 0;
    for (let i = pos; i < bytes.length; i++) {
      const c = bytes[i];
      node ^= c;
      if (node >= units.length) break;
      unit = units[node];
      if ((unit & 0x800000ff) !== c) break;
      node ^= offsetOf(unit);
      if ((unit >>> 8) & 1) {
        best = i + 1 - pos;
        bestValue = units[node] & 0x7fffffff;
      }
    }
    if (best < 0) return undefined;
    let end = bestValue;
    while (end < this.replacements.length && this.replacements[end] !== 0) end++;
    return [best, this.replacements.subarray(bestValue, end)];
  }
}

function offsetOf(unit: number): number {
  return ((unit >>> 10) << ((unit & (1 << 9)) >>> 6)) >>> 0;
}

function utf8CharLength(bytes: Uint8Array, pos: number): number {
  const b = bytes[pos];
  if (b < 0x80) return 1;
  if ((b & 0xe0) === 0xc0) return 2;
  if ((b & 0xf0) === 0xe0) return 3;
  if ((b & 0xf8) === 0xf0) return 4;
  return 1;
}

/**
 * string_util::DecodeUTF8 + ProcessBytePieces: decode byte-fallback bytes one character at a time; every
 * byte that does not start a valid character becomes one U+FFFD (unlike WHATWG's maximal-subpart rule).
 */
export function decodeBytesLikeSentencePiece(bytes: readonly number[]): string {
  let out = '';
  let i = 0;
  const n = bytes.length;
  const trail = (k: number) => k < n && (bytes[k] & 0xc0) === 0x80;
  while (i < n) {
    const b0 = bytes[i];
    let cp = -1;
    let len = 1;
    if (b0 < 0x80) cp = b0;
    else if ((b0 & 0xe0) === 0xc0 && trail(i + 1)) {
      cp = ((b0 & 0x1f) << 6) | (bytes[i + 1] & 0x3f);
      len = 2;
      if (cp < 0x80) cp = -1;
    } else if ((b0 & 0xf0) === 0xe0 && trail(i + 1) && trail(i + 2)) {
      cp = ((b0 & 0x0f) << 12) | ((bytes[i + 1] & 0x3f) << 6) | (bytes[i + 2] & 0x3f);
      len = 3;
      if (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000)) cp = -1;
    } else if ((b0 & 0xf8) === 0xf0 && trail(i + 1) && trail(i + 2) && trail(i + 3)) {
      cp =
        ((b0 & 0x07) << 18) |
        ((bytes[i + 1] & 0x3f) << 12) |
        ((bytes[i + 2] & 0x3f) << 6) |
        (bytes[i + 3] & 0x3f);
      len = 4;
      if (cp < 0x10000 || cp > 0x10ffff) cp = -1;
    }
    if (cp < 0) {
      out += '\uFFFD';
      i += 1;
    } else {
      out += String.fromCodePoint(cp);
      i += len;
    }
  }
  return out;
}

/** A max-heap of candidate merges ordered as bpe_model.cc's SymbolPairComparator. */
class MergeQueue {
  private readonly left: number[] = [];
  private readonly right: number[] = [];
  private readonly score: number[] = [];
  private readonly size: number[] = [];
  private readonly heap: number[] = [];

  get length(): number {
    return this.heap.length;
  }

  private before(a: number, b: number): boolean {
    if (this.score[a] !== this.score[b]) return this.score[a] > this.score[b];
    return this.left[a] < this.left[b];
  }

  push(left: number, right: number, score: number, size: number): void {
    const e = this.left.length;
    this.left.push(left);
    this.right.push(right);
    this.score.push(score);
    this.size.push(size);
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  pop(): [left: number, right: number, size: number] {
    const h = this.heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.before(h[l], h[m])) m = l;
        if (r < h.length && this.before(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return [this.left[top], this.right[top], this.size[top]];
  }
}

/**
 * SentencePiece `.model` files (BPE and Unigram, byte fallback), re-implemented from sentencepiece's
 * normalizer.cc, bpe_model.cc, unigram_model.cc (EncodeOptimized) and sentencepiece_processor.cc
 * (byte fallback and DecodeSentencePiece).
 */
export class SentencePieceTokenizer implements Tokenizer {
  readonly kind = 'sentencepiece' as const;
  readonly vocabSize: number;
  readonly bosTokenId: number | undefined;
  readonly eosTokenId: number | undefined;
  readonly padTokenId: number | undefined;
  readonly unkTokenId: number | undefined;
  readonly addedTokens: readonly AddedToken[];
  readonly modelType: 'bpe' | 'unigram';
  readonly proto: SentencePieceModelProto;
  private readonly pieces: string[];
  private readonly types: Uint8Array;
  private readonly scores: Float32Array;
  /** NORMAL, USER_DEFINED and UNUSED pieces (model_interface.cc `pieces_`). */
  private readonly normalPieces = new Map<string, number>();
  /** CONTROL, UNKNOWN and BYTE pieces (`reserved_id_map_`). */
  private readonly reservedPieces = new Map<string, number>();
  private readonly userDefined: string[] = [];
  private readonly userDefinedBytes: Uint8Array[];
  private readonly identityRules: boolean;
  private readonly byteIds = new Int32Array(256).fill(-1);
  private readonly charsmap: PrecompiledCharsmap | undefined;
  private readonly maxPieceChars: number;
  private readonly minScore: number;
  private readonly maxScore: number;
  private readonly addBos: boolean;
  private readonly addEos: boolean;

  constructor(model: Uint8Array | SentencePieceModelProto, options: SentencePieceOptions = {}) {
    const proto =
      model instanceof Uint8Array ||
      typeof model !== 'object' ||
      model === null ||
      !Array.isArray(model.pieces)
        ? parseSentencePieceModel(model as Uint8Array)
        : model;
    this.proto = proto;
    const spec = proto.trainerSpec;
    if (spec.modelType !== 1 && spec.modelType !== 2) {
      throw new TokenizerError(
        'UNSUPPORTED_TOKENIZER',
        `tokenizer.model has model_type ${spec.modelType} (${spec.modelType === 3 ? 'WORD' : spec.modelType === 4 ? 'CHAR' : 'unknown'}); only UNIGRAM (1) and BPE (2) are supported.`,
      );
    }
    if (spec.treatWhitespaceAsSuffix) {
      throw new TokenizerError(
        'UNSUPPORTED_TOKENIZER',
        'tokenizer.model sets treat_whitespace_as_suffix, which this reader does not implement.',
      );
    }
    this.modelType = spec.modelType === 2 ? 'bpe' : 'unigram';
    const n = proto.pieces.length;
    this.vocabSize = n;
    this.pieces = proto.pieces.map((p) => p.piece);
    this.types = Uint8Array.from(proto.pieces.map((p) => p.type));
    this.scores = Float32Array.from(proto.pieces.map((p) => p.score));
    let minScore = Number.MAX_VALUE;
    let maxScore = FLT_MIN;
    let maxChars = 1;
    let unkId: number | undefined;
    proto.pieces.forEach((p, id) => {
      const normal =
        p.type === PieceType.Normal || p.type === PieceType.UserDefined || p.type === PieceType.Unused;
      const map = normal ? this.normalPieces : this.reservedPieces;
      if (map.has(p.piece)) {
        throw new TokenizerError(
          'MALFORMED_SENTENCEPIECE_MODEL',
          `tokenizer.model lists the piece ${JSON.stringify(p.piece)} twice (ids ${map.get(p.piece)} and ${id}).`,
        );
      }
      map.set(p.piece, id);
      if (p.type === PieceType.UserDefined) this.userDefined.push(p.piece);
      if (p.type === PieceType.Unknown) unkId = id;
      if (p.type === PieceType.Byte) {
        const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(p.piece);
        if (!m) {
          throw new TokenizerError(
            'MALFORMED_SENTENCEPIECE_MODEL',
            `tokenizer.model has a BYTE piece ${JSON.stringify(p.piece)} that is not of the form <0xNN>.`,
          );
        }
        this.byteIds[Number.parseInt(m[1], 16)] = id;
      }
      if (p.type === PieceType.Normal) {
        minScore = Math.min(minScore, p.score);
        maxScore = Math.max(maxScore, p.score);
      }
      if (normal) maxChars = Math.max(maxChars, [...p.piece].length);
    });
    if (unkId === undefined) {
      throw new TokenizerError(
        'MALFORMED_SENTENCEPIECE_MODEL',
        'tokenizer.model has no UNKNOWN (<unk>) piece.',
      );
    }
    if (spec.byteFallback && this.byteIds.some((id) => id < 0)) {
      throw new TokenizerError(
        'MALFORMED_SENTENCEPIECE_MODEL',
        'tokenizer.model enables byte_fallback but lacks some of the 256 <0xNN> pieces.',
      );
    }
    this.userDefined.sort((a, b) => b.length - a.length);
    this.userDefinedBytes = this.userDefined.map((sym) => encoder.encode(sym));
    this.identityRules =
      proto.normalizerSpec.precompiledCharsmap.length === 0 &&
      this.userDefined.every((sym) => !sym.includes(' '));
    this.unkTokenId = unkId;
    this.minScore = minScore;
    this.maxScore = maxScore;
    this.maxPieceChars = maxChars;
    const inRange = (id: number) => (id >= 0 && id < n ? id : undefined);
    this.bosTokenId = inRange(spec.bosId);
    this.eosTokenId = options.eosTokenId ?? inRange(spec.eosId);
    this.padTokenId = inRange(spec.padId);
    this.addBos = options.addBosToken ?? true;
    this.addEos = options.addEosToken ?? false;
    const charsmap = proto.normalizerSpec.precompiledCharsmap;
    this.charsmap = charsmap.length > 0 ? new PrecompiledCharsmap(charsmap) : undefined;
    this.addedTokens = proto.pieces
      .map((p, id) => ({ p, id }))
      .filter(
        ({ p }) =>
          p.type === PieceType.Control || p.type === PieceType.Unknown || p.type === PieceType.UserDefined,
      )
      .map(({ p, id }) => ({ id, content: p.piece, special: p.type !== PieceType.UserDefined }));
  }

  /** normalizer.cc Normalize(): precompiled rules, whitespace clean-up, dummy prefix, ' ' -> U+2581. */
  normalize(text: string): string {
    if (this.identityRules) return this.normalizeIdentity(wellFormed(text));
    return this.normalizeBytes(wellFormed(text));
  }

  /** normalizer.cc's loop over UTF-8 prefixes; needed when a charsmap can rewrite characters. */
  private normalizeBytes(text: string): string {
    const spec = this.proto.normalizerSpec;
    const input = encoder.encode(text);
    let pos = 0;
    const prefix = (): Uint8Array => {
      const user = this.matchUserDefined(input, pos);
      if (user > 0) {
        const out = input.subarray(pos, pos + user);
        pos += user;
        return out;
      }
      const rule = this.charsmap?.longestMatch(input, pos);
      if (rule) {
        pos += rule[0];
        return rule[1];
      }
      const len = Math.min(utf8CharLength(input, pos), input.length - pos);
      const out = input.subarray(pos, pos + len);
      pos += len;
      return out;
    };
    if (spec.removeExtraWhitespaces) {
      while (pos < input.length) {
        const start = pos;
        const piece = prefix();
        if (!(piece.length === 1 && piece[0] === 0x20)) {
          pos = start;
          break;
        }
      }
    }
    if (pos >= input.length) return '';
    const out: number[] = [];
    const space = spec.escapeWhitespaces ? [0xe2, 0x96, 0x81] : [0x20];
    if (spec.addDummyPrefix) out.push(...space);
    let prevSpace = spec.removeExtraWhitespaces;
    while (pos < input.length) {
      let piece = prefix();
      if (prevSpace) {
        let k = 0;
        while (k < piece.length && piece[k] === 0x20) k++;
        piece = piece.subarray(k);
      }
      if (piece.length > 0) {
        for (const b of piece) {
          if (b === 0x20 && spec.escapeWhitespaces) out.push(0xe2, 0x96, 0x81);
          else out.push(b);
        }
        prevSpace = piece[piece.length - 1] === 0x20;
      }
      if (!spec.removeExtraWhitespaces) prevSpace = false;
    }
    if (spec.removeExtraWhitespaces) {
      while (out.length >= space.length && space.every((b, i) => out[out.length - space.length + i] === b)) {
        out.length -= space.length;
      }
    }
    return decoder.decode(Uint8Array.from(out));
  }

  /**
   * The same rules without a charsmap (user-defined symbols without spaces pass through unchanged either
   * way): only U+0020 is special, so whole-string operations give the byte loop's result.
   */
  private normalizeIdentity(text: string): string {
    const spec = this.proto.normalizerSpec;
    const space = spec.escapeWhitespaces ? SPACE_SYMBOL : ' ';
    let s = text;
    if (spec.removeExtraWhitespaces) s = s.replace(/^ +/, '').replace(/ {2,}/g, ' ');
    if (s.length === 0) return '';
    if (spec.escapeWhitespaces) s = s.replaceAll(' ', SPACE_SYMBOL);
    if (spec.addDummyPrefix) s = space + s;
    // Trailing spaces go after escaping, so literal U+2581 characters at the end go too (as in C++).
    if (spec.removeExtraWhitespaces) {
      let end = s.length;
      while (end > 0 && s[end - 1] === space) end--;
      s = s.slice(0, end);
    }
    return s;
  }

  private matchUserDefined(bytes: Uint8Array, pos: number): number {
    for (const b of this.userDefinedBytes) {
      if (b.length === 0 || pos + b.length > bytes.length) continue;
      let ok = true;
      for (let i = 0; i < b.length && ok; i++) ok = bytes[pos + i] === b[i];
      if (ok) return b.length;
    }
    return 0;
  }

  private pieceToId(piece: string): number {
    return this.reservedPieces.get(piece) ?? this.normalPieces.get(piece) ?? this.unkTokenId!;
  }

  /** The model's segmentation of a normalized string, as [piece, id] pairs (unknown pieces get unk). */
  private segment(normalized: string): Array<[string, number]> {
    return this.modelType === 'bpe' ? this.segmentBpe(normalized) : this.segmentUnigram(normalized);
  }

  private userDefinedAt(s: string, i: number): string | undefined {
    for (const sym of this.userDefined) if (sym.length > 0 && s.startsWith(sym, i)) return sym;
    return undefined;
  }

  /** bpe_model.cc Encode: merge the highest-scoring adjacent pair that is a piece, until none is. */
  private segmentBpe(s: string): Array<[string, number]> {
    const start: number[] = [];
    const len: number[] = [];
    const freeze: boolean[] = [];
    for (let i = 0; i < s.length; ) {
      const user = this.userDefinedAt(s, i);
      const l = user ? user.length : s.codePointAt(i)! > 0xffff ? 2 : 1;
      start.push(i);
      len.push(l);
      freeze.push(user !== undefined);
      i += l;
    }
    const count = start.length;
    const prev = Array.from({ length: count }, (_, i) => i - 1);
    const next = Array.from({ length: count }, (_, i) => (i + 1 < count ? i + 1 : -1));
    const queue = new MergeQueue();
    const revMerge = new Map<string, [string, string]>();
    const maybeAdd = (l: number, r: number) => {
      if (l < 0 || r < 0 || freeze[l] || freeze[r]) return;
      const piece = s.slice(start[l], start[l] + len[l] + len[r]);
      const id = this.normalPieces.get(piece);
      if (id === undefined) return;
      queue.push(l, r, this.scores[id], piece.length);
      if (this.types[id] === PieceType.Unused) {
        revMerge.set(piece, [s.slice(start[l], start[l] + len[l]), s.slice(start[r], start[r] + len[r])]);
      }
    };
    for (let i = 1; i < count; i++) maybeAdd(i - 1, i);
    while (queue.length > 0) {
      const [l, r, size] = queue.pop();
      if (len[l] === 0 || len[r] === 0 || len[l] + len[r] !== size) continue;
      len[l] += len[r];
      next[l] = next[r];
      if (next[r] >= 0) prev[next[r]] = l;
      len[r] = 0;
      maybeAdd(prev[l], l);
      maybeAdd(l, next[l]);
    }
    const out: Array<[string, number]> = [];
    const resegment = (w: string) => {
      const id = this.pieceToId(w);
      if (id !== this.unkTokenId && this.types[id] !== PieceType.Unused) {
        out.push([w, id]);
        return;
      }
      const split = revMerge.get(w);
      if (!split) {
        out.push([w, this.unkTokenId!]);
        return;
      }
      resegment(split[0]);
      resegment(split[1]);
    };
    for (let i = count > 0 ? 0 : -1; i !== -1; i = next[i]) resegment(s.slice(start[i], start[i] + len[i]));
    return out;
  }

  /** unigram_model.cc EncodeOptimized: Viterbi over piece scores in float32, unknown chars penalised. */
  private segmentUnigram(s: string): Array<[string, number]> {
    const offsets: number[] = [];
    for (let i = 0; i < s.length; i += s.codePointAt(i)! > 0xffff ? 2 : 1) offsets.push(i);
    offsets.push(s.length);
    const n = offsets.length - 1;
    const bestScore = new Float64Array(n + 1);
    const bestStart = new Int32Array(n + 1).fill(-1);
    const bestId = new Int32Array(n + 1).fill(-1);
    const unkScore = Math.fround(this.minScore - UNK_PENALTY);
    const consider = (end: number, from: number, id: number, candidate: number) => {
      if (bestStart[end] === -1 || candidate > bestScore[end]) {
        bestScore[end] = Math.fround(candidate);
        bestStart[end] = from;
        bestId[end] = id;
      }
    };
    for (let i = 0; i < n; i++) {
      const base = bestScore[i];
      let hasSingle = false;
      const maxLen = Math.min(this.maxPieceChars, n - i);
      for (let l = 1; l <= maxLen; l++) {
        const piece = s.slice(offsets[i], offsets[i + l]);
        const id = this.normalPieces.get(piece);
        if (id === undefined || this.types[id] === PieceType.Unused) continue;
        const candidate =
          this.types[id] === PieceType.UserDefined
            ? encoder.encode(piece).length * this.maxScore - 0.1 + base
            : Math.fround(this.scores[id] + base);
        consider(i + l, i, id, candidate);
        if (l === 1) hasSingle = true;
      }
      if (!hasSingle) consider(i + 1, i, this.unkTokenId!, Math.fround(unkScore + base));
    }
    const out: Array<[string, number]> = [];
    for (let end = n; end > 0; end = bestStart[end]) {
      out.push([s.slice(offsets[bestStart[end]], offsets[end]), bestId[end]]);
    }
    return out.reverse();
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    assertText(text, 'SentencePieceTokenizer.encode');
    const ids: number[] = [];
    const special = options.addSpecialTokens !== false;
    if (special && this.addBos && this.bosTokenId !== undefined) ids.push(this.bosTokenId);
    const normalized = this.normalize(text);
    if (normalized.length > 0) {
      for (const [piece, id] of this.segment(normalized)) {
        if (id === this.unkTokenId && this.proto.trainerSpec.byteFallback) {
          for (const b of encoder.encode(piece)) ids.push(this.byteIds[b]);
        } else {
          ids.push(id);
        }
      }
    }
    if (special && this.addEos && this.eosTokenId !== undefined) ids.push(this.eosTokenId);
    return ids;
  }

  /** sentencepiece_processor.cc Decode: control pieces vanish, the first piece loses its leading U+2581. */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    assertIds(ids, this.vocabSize, 'SentencePieceTokenizer.decode');
    const spec = this.proto.normalizerSpec;
    const stripFirst = spec.addDummyPrefix || spec.removeExtraWhitespaces;
    let text = '';
    let bytes: number[] = [];
    for (const id of ids) {
      const type = this.types[id];
      if (type === PieceType.Byte) {
        bytes.push(Number.parseInt(this.pieces[id].slice(3, 5), 16));
        continue;
      }
      if (bytes.length > 0) {
        text += decodeBytesLikeSentencePiece(bytes);
        bytes = [];
      }
      if (type === PieceType.Control) continue;
      if (type === PieceType.Unknown) {
        if (!options.skipSpecialTokens) text += this.proto.trainerSpec.unkSurface;
        continue;
      }
      let piece = this.pieces[id];
      if (text.length === 0 && stripFirst && piece.startsWith(SPACE_SYMBOL)) piece = piece.slice(1);
      text += piece.replaceAll(SPACE_SYMBOL, ' ');
    }
    if (bytes.length > 0) text += decodeBytesLikeSentencePiece(bytes);
    return text;
  }

  idToToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 && id < this.vocabSize ? this.pieces[id] : undefined;
  }

  tokenToId(token: string): number | undefined {
    return this.reservedPieces.get(token) ?? this.normalPieces.get(token);
  }

  isSpecialToken(id: number): boolean {
    const t = this.types[id];
    return t === PieceType.Control || t === PieceType.Unknown;
  }
}
