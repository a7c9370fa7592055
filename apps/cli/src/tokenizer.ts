import { join } from 'node:path';
import type { ChatTemplate, Tokenizer } from '@densessm/tokenizers';
import { ModelFolderError } from './errors.js';
import type { Terminal } from './terminal.js';

/** What the CLI uses of a model's tokenizer; everything is `@densessm/tokenizers`'. */
export interface CliTokenizer {
  /** Text -> ids, with the special tokens the model expects around a plain prompt (e.g. BOS). */
  encode(text: string): number[];
  /** Ids -> text for display: special tokens (EOS, chat markers) left out. */
  decode(ids: readonly number[]): string;
  /** Tokens that end a generation (tokenizer_config.json / generation_config.json). */
  readonly eosTokenIds: readonly number[];
  /** A conversation rendered with the model's chat template and encoded, ready to generate the next reply. */
  encodeChat(messages: readonly ChatMessage[]): number[];
  /**
   * Tokens that end an assistant turn in chat: EOS plus the special token the chat template writes right after
   * a reply (e.g. `<|im_end|>`), so a reply stops where the template would close it.
   */
  readonly chatStopTokenIds: readonly number[];
  /** False when the model ships no chat template and the plain "User:/Assistant:" one is used. */
  readonly hasOwnChatTemplate: boolean;
  /** Which file the tokenizer came from. */
  readonly source: string;
  /** One more than the largest id the tokenizer knows. */
  readonly vocabSize: number;
}

export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

/** The special token the template puts right after an assistant reply, found by rendering a probe reply. */
function endOfTurnToken(tokenizer: Tokenizer, chatTemplate: ChatTemplate): number | undefined {
  const probe = 'densessm-probe-reply';
  let rendered: string;
  try {
    rendered = chatTemplate.render(
      [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: probe },
      ],
      { addGenerationPrompt: false },
    );
  } catch {
    return undefined; // templates that refuse this shape simply get no extra stop token
  }
  const after = rendered.slice(rendered.lastIndexOf(probe) + probe.length);
  const first = tokenizer.encode(after, { addSpecialTokens: false })[0];
  return first !== undefined && tokenizer.isSpecialToken(first) ? first : undefined;
}

function adapt(tokenizer: Tokenizer, chatTemplate: ChatTemplate, source: string): CliTokenizer {
  const eos = tokenizer.eosTokenId === undefined ? [] : [tokenizer.eosTokenId];
  const endOfTurn = endOfTurnToken(tokenizer, chatTemplate);
  return {
    chatStopTokenIds: endOfTurn === undefined || eos.includes(endOfTurn) ? eos : [...eos, endOfTurn],
    encode: (text) => tokenizer.encode(text),
    decode: (ids) => tokenizer.decode(ids, { skipSpecialTokens: true }),
    eosTokenIds: eos,
    // The template writes BOS and the turn markers itself, so nothing is added around the rendered text
    // (as Hugging Face's apply_chat_template(tokenize=True) does).
    encodeChat: (messages) =>
      tokenizer.encode(chatTemplate.render(messages.map((m) => ({ ...m }))), { addSpecialTokens: false }),
    hasOwnChatTemplate: !chatTemplate.isDefault,
    source,
    vocabSize: tokenizer.vocabSize,
  };
}

/** Loads the tokenizer (and chat template) of a model folder; cheap, so commands do it before the model. */
export async function loadTokenizer(folder: string): Promise<CliTokenizer> {
  const { loadTokenizerFromDirectory } = await import('@densessm/tokenizers/node');
  const loaded = await loadTokenizerFromDirectory(folder);
  return adapt(loaded.tokenizer, loaded.chatTemplate, join(folder, loaded.source));
}

/** A tokenizer that can produce ids the model does not have is the wrong tokenizer (exit 3). */
export function checkTokenizerFits(
  tokenizer: CliTokenizer,
  model: { vocabSize: number },
  terminal: Terminal,
): void {
  if (tokenizer.vocabSize > model.vocabSize) {
    throw new ModelFolderError(
      'INVALID_MODEL',
      `${tokenizer.source} has ${tokenizer.vocabSize} tokens but the model only ${model.vocabSize}; the folder holds the wrong tokenizer`,
    );
  }
  if (tokenizer.vocabSize < model.vocabSize) {
    terminal.info(
      terminal.paintErr(
        'dim',
        `note: the model's vocabulary (${model.vocabSize}) is padded beyond the tokenizer's (${tokenizer.vocabSize})`,
      ),
    );
  }
}
