import { TokenizerError } from './errors.js';
import type { DecodeOptions, Tokenizer } from './tokenizer.js';

/**
 * Emits text as token ids arrive, using the prefix/read offset window (as in Hugging Face
 * text-generation-inference): decode ids[prefixOffset..] and ids[prefixOffset..readOffset], emit the
 * difference. The window keeps one already-emitted stretch in front of the new tokens so that context
 * dependent decoding (SentencePiece's leading U+2581, Strip decoders) is the same as in a full decode.
 *
 * Text is held back while it ends in U+FFFD (a UTF-8 character split across tokens) or while the
 * tokenizer says later tokens may still rewrite it (Hugging Face byte-fallback runs). `flush()` emits
 * whatever is left, so the chunks always concatenate to exactly `tokenizer.decode(allIds)`.
 */
export class StreamingDetokenizer {
  private readonly ids: number[] = [];
  private prefixOffset = 0;
  private readOffset = 0;
  /** decode(ids[prefixOffset..readOffset]), kept from the last emission. */
  private prefixText = '';

  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly options: DecodeOptions = {},
  ) {}

  /** All ids pushed so far. */
  get tokenIds(): readonly number[] {
    return this.ids;
  }

  /** Adds ids; returns the text that is now final (possibly ''). */
  push(ids: number | readonly number[]): string {
    const list = typeof ids === 'number' ? [ids] : ids;
    if (list.length === 0) return '';
    // Validate before storing, so that a bad id leaves the stream as it was.
    this.tokenizer.decode(list, this.options);
    this.ids.push(...list);
    const last = this.ids[this.ids.length - 1];
    if (this.tokenizer.textMayChangeAfter?.(last)) return '';
    const text = this.decodeRange(this.prefixOffset, this.ids.length);
    if (
      text.length <= this.prefixText.length ||
      text.endsWith('\uFFFD') ||
      !text.startsWith(this.prefixText)
    ) {
      return '';
    }
    const chunk = text.slice(this.prefixText.length);
    // The next window starts at the old read offset, unless that stretch decodes to nothing on its own:
    // then a leading-space rule would see an empty start and strip the wrong token, so keep the window.
    const nextPrefix = this.decodeRange(this.readOffset, this.ids.length);
    if (nextPrefix.length > 0 && text.endsWith(nextPrefix)) {
      this.prefixOffset = this.readOffset;
      this.prefixText = nextPrefix;
    } else {
      this.prefixText = text;
    }
    this.readOffset = this.ids.length;
    return chunk;
  }

  /** Ends the stream: returns the held-back rest (which may hold U+FFFD when the full decode does). */
  flush(): string {
    const text = this.decodeRange(this.prefixOffset, this.ids.length);
    if (!text.startsWith(this.prefixText)) {
      throw new TokenizerError(
        'INVALID_ARGUMENT',
        'StreamingDetokenizer: the tokenizer decodes a window differently from its prefix; this tokenizer cannot be streamed with the window method.',
      );
    }
    const rest = text.slice(this.prefixText.length);
    this.prefixText = text;
    this.readOffset = this.ids.length;
    return rest;
  }

  private decodeRange(from: number, to: number): string {
    return from >= to ? '' : this.tokenizer.decode(this.ids.slice(from, to), this.options);
  }
}
