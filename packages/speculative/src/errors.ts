/** Machine-readable reasons a speculative-decoding call can fail. */
export type SpeculativeErrorCode =
  | 'INVALID_OPTION'
  | 'INVALID_TREE'
  | 'UNKNOWN_SEQUENCE'
  | 'MODEL_MISMATCH'
  | 'MODEL_OUTPUT'
  | 'ABORTED';

/** Every error this package throws: `code` for programs, a message that says what to do next for people. */
export class SpeculativeError extends Error {
  readonly code: SpeculativeErrorCode;

  constructor(code: SpeculativeErrorCode, message: string) {
    super(message);
    this.name = 'SpeculativeError';
    this.code = code;
  }
}
