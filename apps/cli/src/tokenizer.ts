import { UnavailableError } from './errors.js';

/** What the CLI needs from a model's tokenizer (`@densessm/tokenizers` provides it). */
export interface CliTokenizer {
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
  /** Tokens that end a generation (from the tokenizer / generation config). */
  readonly eosTokenIds: readonly number[];
  /** Renders a conversation with the model's chat template, ready to encode. */
  applyChatTemplate?(messages: readonly ChatMessage[]): string;
}

export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

/** Loads the tokenizer of a model folder through `@densessm/tokenizers`. */
export async function loadTokenizer(folder: string): Promise<CliTokenizer> {
  const specifier = '@densessm/tokenizers/node';
  let module: Record<string, unknown>;
  try {
    module = (await import(specifier)) as Record<string, unknown>;
  } catch {
    throw new UnavailableError(
      `@densessm/tokenizers is not built; run 'pnpm build' at the repository root (model ${folder})`,
    );
  }
  throw new UnavailableError(
    `@densessm/tokenizers has no folder loader yet (exports: ${Object.keys(module).join(', ')})`,
  );
}
