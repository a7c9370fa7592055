import { describeValue, TokenizerError } from './errors.js';

export interface EncodeOptions {
  /**
   * Add the tokens the model expects around a text (BOS for LLaMA-style models, whatever the
   * tokenizer.json post-processor adds). Default true, as in Hugging Face `tokenizers`.
   */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Leave special tokens (BOS, EOS, chat markers) out of the text. Default false. */
  skipSpecialTokens?: boolean;
}

export interface AddedToken {
  id: number;
  content: string;
  /** Special tokens are control tokens (BOS, EOS, chat markers); `skipSpecialTokens` drops them. */
  special: boolean;
}

export type TokenizerKind = 'tokenizer.json' | 'sentencepiece' | 'tiktoken' | 'byte-level';

/** What the engine needs from any tokenizer a checkpoint ships with. */
export interface Tokenizer {
  readonly kind: TokenizerKind;
  /** One more than the largest id this tokenizer can produce or decode. */
  readonly vocabSize: number;
  readonly bosTokenId: number | undefined;
  readonly eosTokenId: number | undefined;
  readonly padTokenId: number | undefined;
  readonly unkTokenId: number | undefined;
  /** Tokens added on top of the model vocabulary (special or not), sorted by id. */
  readonly addedTokens: readonly AddedToken[];
  encode(text: string, options?: EncodeOptions): number[];
  decode(ids: readonly number[], options?: DecodeOptions): string;
  idToToken(id: number): string | undefined;
  tokenToId(token: string): number | undefined;
  isSpecialToken(id: number): boolean;
  /**
   * True when the text decoded up to and including this token can still change once later tokens
   * arrive (a byte-fallback run that Hugging Face decodes all-or-nothing). Streaming holds text back.
   */
  textMayChangeAfter?(id: number): boolean;
}

export function assertText(text: unknown, where: string): asserts text is string {
  if (typeof text !== 'string') {
    throw new TokenizerError(
      'INVALID_TEXT',
      `${where} needs a string, got ${describeValue(text)}; convert the input with String(...) or check the caller.`,
    );
  }
}

export function assertIds(ids: unknown, vocabSize: number, where: string): asserts ids is readonly number[] {
  if (!Array.isArray(ids) && !ArrayBuffer.isView(ids)) {
    throw new TokenizerError(
      'INVALID_IDS',
      `${where} needs an array of token ids, got ${describeValue(ids)}.`,
    );
  }
  const list = ids as ArrayLike<unknown>;
  for (let i = 0; i < list.length; i++) {
    const id = list[i];
    if (typeof id !== 'number' || !Number.isInteger(id)) {
      throw new TokenizerError(
        'INVALID_IDS',
        `${where}: ids[${i}] is ${String(id)}, not an integer token id.`,
      );
    }
    if (id < 0 || id >= vocabSize) {
      throw new TokenizerError(
        'ID_OUT_OF_RANGE',
        `${where}: ids[${i}] = ${id} is outside the vocabulary [0, ${vocabSize}); the ids come from a model with a different vocabulary or were corrupted.`,
      );
    }
  }
}

/** Replaces lone UTF-16 surrogates with U+FFFD, as every UTF-8 based tokenizer sees them. */
export function wellFormed(text: string): string {
  const s = text as string & { toWellFormed?: () => string };
  if (typeof s.toWellFormed === 'function') return s.toWellFormed();
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}
