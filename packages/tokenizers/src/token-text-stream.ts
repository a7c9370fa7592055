import { TokenizerError } from './errors.js';
import { StopStringMatcher } from './stop-strings.js';
import { StreamingDetokenizer } from './streaming-detokenizer.js';
import type { Tokenizer } from './tokenizer.js';

export interface TokenTextStreamOptions {
  /** Output is cut where the first of these appears; they are never shown. */
  stopStrings?: readonly string[];
  /** Token ids that end generation (EOS, <|im_end|>); defaults to the tokenizer's EOS. Never shown. */
  stopTokenIds?: readonly number[];
  /** Default true: special tokens are not part of the shown text. */
  skipSpecialTokens?: boolean;
}

export interface TokenTextChunk {
  /** Text that is final and safe to show. */
  text: string;
  done: boolean;
  reason?: 'stop_token' | 'stop_string';
  /** The stop token id or stop string that ended the stream. */
  stop?: number | string;
}

/**
 * What a CLI or server needs per generated token: the streaming detokenizer and the stop-string matcher
 * in one, plus stop tokens. The shown chunks concatenate to decode(ids before the first stop token),
 * cut at the first stop string.
 */
export class TokenTextStream {
  private readonly detokenizer: StreamingDetokenizer;
  private readonly matcher: StopStringMatcher | undefined;
  private readonly stopTokens: Set<number>;
  private finished: TokenTextChunk | undefined;

  constructor(tokenizer: Tokenizer, options: TokenTextStreamOptions = {}) {
    this.detokenizer = new StreamingDetokenizer(tokenizer, {
      skipSpecialTokens: options.skipSpecialTokens ?? true,
    });
    const stops = options.stopStrings ?? [];
    this.matcher = stops.length > 0 ? new StopStringMatcher(stops) : undefined;
    const ids = options.stopTokenIds ?? (tokenizer.eosTokenId === undefined ? [] : [tokenizer.eosTokenId]);
    if (ids.some((id) => !Number.isInteger(id) || id < 0 || id >= tokenizer.vocabSize)) {
      throw new TokenizerError(
        'INVALID_ARGUMENT',
        `TokenTextStream: stop token ids must lie in [0, ${tokenizer.vocabSize}).`,
      );
    }
    this.stopTokens = new Set(ids);
  }

  get done(): boolean {
    return this.finished !== undefined;
  }

  push(ids: number | readonly number[]): TokenTextChunk {
    if (this.finished) return { ...this.finished, text: '' };
    const list = typeof ids === 'number' ? [ids] : ids;
    const stopAt = list.findIndex((id) => this.stopTokens.has(id));
    const kept = stopAt < 0 ? list : list.slice(0, stopAt);
    let text = this.detokenizer.push(kept);
    if (stopAt >= 0) text += this.detokenizer.flush();
    const shown = this.show(text, stopAt >= 0);
    if (shown.done) return shown;
    if (stopAt >= 0) {
      this.finished = { text: '', done: true, reason: 'stop_token', stop: list[stopAt] };
      return { ...this.finished, text: shown.text };
    }
    return shown;
  }

  /** Generation ended without a stop (length limit): the rest of the text. */
  flush(): string {
    if (this.finished) return '';
    const shown = this.show(this.detokenizer.flush(), true);
    this.finished ??= { text: '', done: true };
    return shown.text;
  }

  private show(text: string, last: boolean): TokenTextChunk {
    if (!this.matcher) return { text, done: false };
    const r = this.matcher.push(text);
    if (r.stop !== undefined) {
      this.finished = { text: '', done: true, reason: 'stop_string', stop: r.stop };
      return { ...this.finished, text: r.text };
    }
    return { text: last ? r.text + this.matcher.flush() : r.text, done: false };
  }
}
