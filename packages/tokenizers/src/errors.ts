/** What went wrong, as a stable string a caller can switch on. */
export type TokenizerErrorCode =
  | 'INVALID_TEXT'
  | 'INVALID_IDS'
  | 'ID_OUT_OF_RANGE'
  | 'MALFORMED_TOKENIZER_JSON'
  | 'MALFORMED_SENTENCEPIECE_MODEL'
  | 'MALFORMED_TIKTOKEN_RANKS'
  | 'UNKNOWN_ENCODING'
  | 'UNSUPPORTED_TOKENIZER'
  | 'NO_TOKENIZER_FOUND'
  | 'CHAT_TEMPLATE_ERROR'
  | 'INVALID_ARGUMENT';

/** Every error this package throws: `code` for programs, a message that says what to do for people. */
export class TokenizerError extends Error {
  override readonly name = 'TokenizerError';
  readonly code: TokenizerErrorCode;

  constructor(code: TokenizerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'a Uint8Array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
