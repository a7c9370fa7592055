/** What went wrong, as a stable string callers can branch on. */
export type ModelErrorCode =
  | 'UNKNOWN_MODEL_TYPE'
  | 'INVALID_CONFIG'
  | 'MISSING_TENSOR'
  | 'TENSOR_SHAPE'
  | 'TENSOR_DTYPE'
  | 'INVALID_FILE'
  | 'TOKEN_OUT_OF_RANGE'
  | 'INVALID_TREE'
  | 'INVALID_PATH'
  | 'FOREIGN_STATE'
  | 'INVALID_INPUT'
  | 'DISPOSED';

/**
 * Every error `@densessm/models` throws on bad files or bad input. The message names the file / tensor / key,
 * what was expected, what was found, and what to do about it.
 */
export class ModelError extends Error {
  override readonly name = 'ModelError';
  constructor(
    readonly code: ModelErrorCode,
    message: string,
  ) {
    super(message);
  }
}
