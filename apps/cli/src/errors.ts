/**
 * Exit codes scripts can rely on. They are part of the CLI's interface (README "Exit codes"): never renumber.
 * 130 follows the shell convention 128 + SIGINT.
 */
export const ExitCode = {
  /** The command did what was asked. */
  ok: 0,
  /** A bug or an unexpected failure inside densessm or onnxruntime (rerun with DENSESSM_DEBUG=1). */
  internal: 1,
  /** Bad command line: unknown command or option, a value out of range, an unknown drafter, no prompt. */
  usage: 2,
  /** The model folder is missing, is not a model folder, or its files are invalid or unsupported. */
  model: 3,
  /** An input file (prompt, eval text, prompt set) is missing, unreadable or empty. */
  input: 4,
  /** Something the command needs is not there: a drafter's assets, a package not built yet. */
  unavailable: 5,
  /** Stopped by Ctrl-C (SIGINT) or SIGTERM; whatever was generated before it was printed. */
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export type CliErrorCode =
  | 'USAGE'
  | 'INVALID_OPTION'
  | 'UNKNOWN_DRAFTER'
  | 'NO_PROMPT'
  | 'MODEL_NOT_FOUND'
  | 'NOT_A_MODEL'
  | 'NO_SHIPPED_MODEL'
  | 'INVALID_MODEL'
  | 'INPUT_UNREADABLE'
  | 'EMPTY_INPUT'
  | 'UNAVAILABLE'
  | 'INTERRUPTED';

/** An error the user can fix; printed as one line (never a stack trace) and mapped to an exit code. */
export class CliError extends Error {
  override readonly name: string = 'CliError';
  constructor(
    readonly code: CliErrorCode,
    message: string,
    readonly exitCode: ExitCodeValue,
  ) {
    super(message);
  }
}

export class UsageError extends CliError {
  override readonly name = 'UsageError';
  constructor(message: string, code: CliErrorCode = 'USAGE') {
    super(code, message, ExitCode.usage);
  }
}

export class ModelFolderError extends CliError {
  override readonly name = 'ModelFolderError';
  constructor(
    code: 'MODEL_NOT_FOUND' | 'NOT_A_MODEL' | 'NO_SHIPPED_MODEL' | 'INVALID_MODEL',
    message: string,
  ) {
    super(code, message, ExitCode.model);
  }
}

export class InputFileError extends CliError {
  override readonly name = 'InputFileError';
  constructor(code: 'INPUT_UNREADABLE' | 'EMPTY_INPUT', message: string) {
    super(code, message, ExitCode.input);
  }
}

export class UnavailableError extends CliError {
  override readonly name = 'UnavailableError';
  constructor(message: string) {
    super('UNAVAILABLE', message, ExitCode.unavailable);
  }
}

export class InterruptedError extends CliError {
  override readonly name = 'InterruptedError';
  constructor(message = 'interrupted') {
    super('INTERRUPTED', message, ExitCode.interrupted);
  }
}

/** Codes of library errors (`ModelError`, tokenizer errors) that mean "this model folder is bad". */
const MODEL_FILE_CODES = new Set([
  'UNKNOWN_MODEL_TYPE',
  'INVALID_CONFIG',
  'MISSING_TENSOR',
  'TENSOR_SHAPE',
  'TENSOR_DTYPE',
  'INVALID_FILE',
  'MALFORMED_TOKENIZER_JSON',
  'MALFORMED_SENTENCEPIECE_MODEL',
  'MALFORMED_TIKTOKEN_RANKS',
  'UNKNOWN_ENCODING',
  'UNSUPPORTED_TOKENIZER',
  'NO_TOKENIZER_FOUND',
  'SAFETENSORS_TRUNCATED',
  'SAFETENSORS_HEADER_OUT_OF_RANGE',
  'SAFETENSORS_BAD_HEADER',
  'SAFETENSORS_UNKNOWN_DTYPE',
  'SAFETENSORS_BAD_OFFSETS',
  'SAFETENSORS_BAD_INDEX',
  'SAFETENSORS_MISSING_SHARD',
  'SAFETENSORS_MISSING_TENSOR',
  'SAFETENSORS_NOT_FOUND',
]);

export interface DescribedError {
  readonly code: string;
  readonly message: string;
  readonly exitCode: ExitCodeValue;
  /** False for bugs: those print a hint about DENSESSM_DEBUG and, with it set, the stack. */
  readonly expected: boolean;
}

/** Turns anything thrown into what the CLI prints and the code it exits with. */
export function describeError(error: unknown): DescribedError {
  if (error instanceof CliError) {
    return { code: error.code, message: error.message, exitCode: error.exitCode, expected: true };
  }
  if (error instanceof Error) {
    const rawCode: unknown = (error as Error & { code?: unknown }).code;
    const code = typeof rawCode === 'string' ? rawCode : '';
    if (code === 'CHAT_TEMPLATE_ERROR') {
      return { code, message: firstLine(error.message), exitCode: ExitCode.unavailable, expected: true };
    }
    if (code === 'MODEL_MISMATCH' && error.name === 'SpeculativeError') {
      return { code, message: firstLine(error.message), exitCode: ExitCode.model, expected: true };
    }
    if (code === 'INVALID_OPTION' && error.name === 'SpeculativeError') {
      return { code, message: firstLine(error.message), exitCode: ExitCode.usage, expected: true };
    }
    if (MODEL_FILE_CODES.has(code)) {
      return { code, message: firstLine(error.message), exitCode: ExitCode.model, expected: true };
    }
    if (code === 'ABORTED' || error.name === 'AbortError') {
      return { code: 'INTERRUPTED', message: 'interrupted', exitCode: ExitCode.interrupted, expected: true };
    }
    return {
      code: code || error.name,
      message: firstLine(error.message),
      exitCode: ExitCode.internal,
      expected: false,
    };
  }
  return { code: 'UNKNOWN', message: String(error), exitCode: ExitCode.internal, expected: false };
}

function firstLine(message: string): string {
  const line = message.split('\n').find((l) => l.trim() !== '') ?? message;
  return line.trim();
}
