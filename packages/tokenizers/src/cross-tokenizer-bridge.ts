import { TokenizerError } from './errors.js';
import { StreamingDetokenizer } from './streaming-detokenizer.js';
import type { Tokenizer } from './tokenizer.js';

export interface CrossTokenizerBridgeOptions {
  /** Target tokens before the first changed character that are re-tokenized with the new text. Default 8. */
  lookbehind?: number;
  /** Source tokens before the first changed id that are decoded again to find the changed text. Default 8. */
  sourceLookbehind?: number;
}

/** How to turn the previous target ids into the new ones: keep the first `keep`, then append `append`. */
export interface TokenEdit {
  keep: number;
  append: number[];
}

export interface BridgeStats {
  syncs: number;
  /** Syncs that had to re-encode the whole text (no token boundary in the lookbehind agreed). */
  fullReencodes: number;
  /** Characters passed to target.encode over all syncs. */
  encodedChars: number;
}

const UNKNOWN_END = -1;

function commonPrefix<T>(a: ArrayLike<T>, b: ArrayLike<T>): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/**
 * Keeps a target tokenizer's view of a token stream produced with another tokenizer, for drafting
 * across vocabularies (universal assisted decoding, Timor et al. 2025): the source ids are turned into
 * text, and only the text near the change is re-tokenized with the target tokenizer: the last
 * `lookbehind` target tokens before the change plus the new text. The re-tokenized window is spliced in
 * at the latest token boundary where old and new tokenizations agree (same token ending at the same
 * character), which absorbs boundary effects such as merges across the seam or SentencePiece's dummy
 * prefix. Invariant: target.decode(targetIds) == source.decode(sourceIds) for lossless tokenizers.
 */
export class CrossTokenizerBridge {
  readonly stats: BridgeStats = { syncs: 0, fullReencodes: 0, encodedChars: 0 };
  private src: number[] = [];
  private tgt: number[] = [];
  /** Character end of each target token in `text`, or UNKNOWN_END inside a split character. */
  private ends: number[] = [];
  private textValue = '';
  private readonly lookbehind: number;
  private readonly sourceLookbehind: number;

  constructor(
    readonly source: Tokenizer,
    readonly target: Tokenizer,
    options: CrossTokenizerBridgeOptions = {},
  ) {
    this.lookbehind = options.lookbehind ?? 8;
    this.sourceLookbehind = options.sourceLookbehind ?? 8;
    if (!(this.lookbehind >= 1) || !(this.sourceLookbehind >= 1)) {
      throw new TokenizerError(
        'INVALID_ARGUMENT',
        'CrossTokenizerBridge: lookbehind windows must be at least 1 token.',
      );
    }
  }

  get sourceIds(): readonly number[] {
    return this.src;
  }

  get targetIds(): readonly number[] {
    return this.tgt;
  }

  get text(): string {
    return this.textValue;
  }

  /**
   * Brings the target ids in line with `sourceIds` (the whole source sequence: it may extend the last
   * one, or drop its tail as after a rejected draft, or both). Returns the edit to apply.
   */
  sync(sourceIds: readonly number[]): TokenEdit {
    this.stats.syncs++;
    const ids = Array.from(sourceIds);
    const p = commonPrefix(this.src, ids);
    if (p === this.src.length && p === ids.length) return { keep: this.tgt.length, append: [] };

    const { text, changeStart } = this.updateText(ids, p);
    const oldTgt = this.tgt;
    let k0 = 0;
    for (let i = 0; i < this.ends.length; i++) {
      if (this.ends[i] !== UNKNOWN_END && this.ends[i] <= changeStart) k0 = i + 1;
      else if (this.ends[i] !== UNKNOWN_END) break;
    }
    let ws = Math.max(0, k0 - this.lookbehind);
    // The window must start at a known character boundary (not inside a character split over tokens).
    while (ws > 0 && this.ends[ws - 1] === UNKNOWN_END) ws--;
    const spliced = ws > 0 ? this.spliceWindow(text, ws, k0) : undefined;
    if (spliced) {
      this.tgt = spliced.ids;
      this.ends = spliced.ends;
    } else {
      if (ws > 0) this.stats.fullReencodes++;
      this.tgt = this.target.encode(text, { addSpecialTokens: false });
      this.stats.encodedChars += text.length;
      this.ends = this.endsOfWhole(this.tgt, text);
    }
    this.src = ids;
    this.textValue = text;
    const keep = commonPrefix(oldTgt, this.tgt);
    return { keep, append: this.tgt.slice(keep) };
  }

  /** New text and the first character that differs, decoding only a window of source tokens. */
  private updateText(ids: number[], p: number): { text: string; changeStart: number } {
    const decode = (list: number[]) =>
      list.length === 0 ? '' : this.source.decode(list, { skipSpecialTokens: true });
    const w = Math.max(0, p - this.sourceLookbehind);
    if (w > 0) {
      const oldWin = decode(this.src.slice(w));
      const newWin = decode(ids.slice(w));
      if (this.textValue.endsWith(oldWin) && oldWin.length > 0) {
        const c = commonPrefix(oldWin, newWin);
        const base = this.textValue.length - oldWin.length;
        return { text: this.textValue.slice(0, base) + newWin, changeStart: base + c };
      }
    }
    const text = decode(ids);
    return { text, changeStart: commonPrefix(this.textValue, text) };
  }

  /**
   * Re-tokenizes text from the end of target token ws-1 and splices the result in at the latest
   * boundary inside [ws, k0) where the old and new tokenizations hold the same token ending at the
   * same character. Undefined when no such boundary exists.
   */
  private spliceWindow(text: string, ws: number, k0: number): { ids: number[]; ends: number[] } | undefined {
    const winStart = this.ends[ws - 1];
    if (winStart === UNKNOWN_END) return undefined;
    const windowText = text.slice(winStart);
    const r = this.target.encode(windowText, { addSpecialTokens: false });
    this.stats.encodedChars += windowText.length;
    // Decode the window after a lead-in of already-known tokens, so start-of-text rules do not apply.
    let leadFrom = ws - 1;
    while (
      leadFrom > 0 &&
      (this.ends[leadFrom - 1] === UNKNOWN_END ||
        this.target.decode(this.tgt.slice(leadFrom, ws)).length === 0)
    ) {
      leadFrom--;
    }
    const lead = this.tgt.slice(leadFrom, ws);
    const rEnds = this.endsOfWindow(r, lead, winStart, text);
    if (!rEnds) return undefined;
    const byEnd = new Map<number, number>();
    for (let j = 0; j < r.length; j++) if (rEnds[j] !== UNKNOWN_END) byEnd.set(rEnds[j], j);
    for (let i = k0 - 1; i >= ws; i--) {
      const j = byEnd.get(this.ends[i]);
      if (j !== undefined && r[j] === this.tgt[i] && this.ends[i] !== UNKNOWN_END) {
        return {
          ids: [...this.tgt.slice(0, i + 1), ...r.slice(j + 1)],
          ends: [...this.ends.slice(0, i + 1), ...rEnds.slice(j + 1)],
        };
      }
    }
    return undefined;
  }

  /** Character end of each token of a whole-text encoding, in one streaming pass (O(n) decodes of short windows). */
  private endsOfWhole(ids: number[], text: string): number[] {
    const stream = new StreamingDetokenizer(this.target);
    const ends: number[] = [];
    let emitted = 0;
    for (const id of ids) {
      const chunk = stream.push(id);
      emitted += chunk.length;
      ends.push(chunk.length > 0 ? emitted : UNKNOWN_END);
    }
    emitted += stream.flush().length;
    // A lossy target (NFKC, collapsed spaces) decodes to other text: no position can be trusted.
    return emitted === text.length && (ids.length === 0 || this.target.decode(ids) === text)
      ? ends
      : ids.map(() => UNKNOWN_END);
  }

  /**
   * Absolute character end of each token of `ids`, which encode text.slice(offset) possibly with a
   * spurious leading space (SentencePiece's dummy prefix); each prefix is decoded after `lead`.
   */
  private endsOfWindow(ids: number[], lead: number[], offset: number, text: string): number[] | undefined {
    const leadText = this.target.decode(lead);
    const full = ids.length > 0 ? this.target.decode([...lead, ...ids]).slice(leadText.length) : '';
    const windowText = text.slice(offset);
    const spurious = full.length - windowText.length;
    if (spurious < 0 || full.slice(spurious) !== windowText) return undefined;
    const ends: number[] = [];
    for (let j = 0; j < ids.length; j++) {
      const prefix = this.target.decode([...lead, ...ids.slice(0, j + 1)]).slice(leadText.length);
      const len = prefix.length - spurious;
      ends.push(len > 0 && windowText.startsWith(prefix.slice(spurious)) ? offset + len : UNKNOWN_END);
    }
    return ends;
  }
}
