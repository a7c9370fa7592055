/** Anything that turns token ids into text (a `@densessm/tokenizers` tokenizer fits). */
export interface TokenDecoder {
  decode(ids: readonly number[]): string;
}

/** A generated token and the text it makes visible (empty while held back, truncated before a stop string). */
export interface GeneratedToken {
  readonly token: number;
  readonly text: string;
}

/**
 * Streams tokens with their text while guaranteeing that no stop string ever appears in what was streamed:
 * text that could still be the beginning of a stop string is held back until the next tokens decide it, and
 * so is a trailing U+FFFD (a character whose UTF-8 bytes are split over tokens decodes as U+FFFD until its
 * last byte arrives). Decoding is done on the whole generated sequence; the streamed pieces concatenate to
 * exactly `visibleText`.
 */
export class StopStringMatcher {
  private readonly tokens: number[] = [];
  private readonly ends: number[] = [];
  private text = '';
  private emittedTokens = 0;
  private emittedChars = 0;
  private streamed = '';
  private stoppedAt = -1;

  constructor(
    private readonly decoder: TokenDecoder | undefined,
    private readonly stops: readonly string[] = [],
  ) {}

  /** Whether a stop string has been seen. */
  get stopped(): boolean {
    return this.stoppedAt >= 0;
  }

  /** The text streamed so far (after `flush` or a stop: everything before the stop string). */
  get visibleText(): string {
    return this.streamed;
  }

  /** Tokens whose text is (at least partly) visible. */
  get visibleTokens(): number[] {
    return this.tokens.slice(0, this.emittedTokens);
  }

  /** Adds a token; returns the tokens that can be streamed now. */
  push(token: number): GeneratedToken[] {
    if (this.stopped) return [];
    this.tokens.push(token);
    if (!this.decoder) {
      this.ends.push(0);
      return this.release(this.tokens.length, 0);
    }
    this.text = this.decoder.decode(this.tokens);
    this.ends.push(this.text.length);
    const from = Math.max(0, this.emittedChars - this.longestStop() + 1);
    let first = -1;
    for (const stop of this.stops) {
      const at = stop.length === 0 ? -1 : this.text.indexOf(stop, from);
      if (at >= 0 && (first < 0 || at < first)) first = at;
    }
    if (first >= 0) {
      this.stoppedAt = first;
      return this.release(this.tokens.length, first);
    }
    const safeChars = this.text.length - Math.max(this.heldBackChars(), this.trailingReplacementChars());
    let releasable = this.emittedTokens;
    while (releasable < this.tokens.length && this.ends[releasable] <= safeChars) releasable++;
    return this.release(releasable, this.ends[releasable - 1] ?? 0);
  }

  /** Releases whatever was held back (the sequence ended for another reason than a stop string). */
  flush(): GeneratedToken[] {
    if (this.stopped) return [];
    return this.release(this.tokens.length, this.text.length);
  }

  private release(tokenCount: number, charLimit: number): GeneratedToken[] {
    const out: GeneratedToken[] = [];
    for (let k = this.emittedTokens; k < tokenCount; k++) {
      const end = Math.min(this.ends[k], charLimit);
      if (this.decoder && end <= this.emittedChars && this.stopped) break;
      const text = this.decoder ? this.text.slice(this.emittedChars, Math.max(end, this.emittedChars)) : '';
      out.push({ token: this.tokens[k], text });
      this.streamed += text;
      this.emittedChars = Math.max(end, this.emittedChars);
      this.emittedTokens = k + 1;
    }
    return out;
  }

  private longestStop(): number {
    return this.stops.reduce((a, s) => Math.max(a, s.length), 0);
  }

  private trailingReplacementChars(): number {
    let n = 0;
    while (n < this.text.length && this.text[this.text.length - 1 - n] === '\uFFFD') n++;
    return n;
  }

  /** Length of the longest suffix of the text that is a proper prefix of some stop string. */
  private heldBackChars(): number {
    let held = 0;
    for (const stop of this.stops) {
      for (let n = Math.min(stop.length - 1, this.text.length); n > held; n--) {
        if (this.text.endsWith(stop.slice(0, n))) {
          held = n;
          break;
        }
      }
    }
    return held;
  }
}
