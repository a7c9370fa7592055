import { ByteLevelTokenizer } from './byte-level.js';
import { ChatTemplate } from './chat-template.js';
import { TokenizerError } from './errors.js';
import { HfTokenizer, type TokenizerConfig } from './hf-tokenizer.js';
import { SentencePieceTokenizer } from './sentencepiece.js';
import { TIKTOKEN_ENCODINGS, TiktokenTokenizer } from './tiktoken.js';
import type { Tokenizer } from './tokenizer.js';

/** A model folder as a list of file names and a reader (local disk, fetch, an in-memory map). */
export interface ModelFiles {
  names: readonly string[];
  read(name: string): Promise<Uint8Array>;
}

export interface LoadTokenizerOptions {
  /** Use this named tiktoken encoding (cl100k_base, o200k_base, ...) whatever the folder holds. */
  encoding?: string;
  /** Fall back to the plain byte-level tokenizer when the folder has no tokenizer file. Default false. */
  allowByteLevelFallback?: boolean;
}

export interface LoadedTokenizer {
  tokenizer: Tokenizer;
  chatTemplate: ChatTemplate;
  /** Which file (or encoding) the tokenizer came from. */
  source: string;
  config: TokenizerConfig;
}

/** Files whose presence picks an adapter, in order of preference. */
export const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer.model',
  'tokenizer.tiktoken',
  'tiktoken.model',
] as const;

const utf8 = new TextDecoder('utf-8');

/** A folder given as an in-memory map of file name -> bytes or text (browser uploads, tests). */
export function filesFromRecord(record: Record<string, Uint8Array | string>): ModelFiles {
  return {
    names: Object.keys(record),
    read: async (name) => {
      const v = record[name];
      if (v === undefined) throw new TokenizerError('NO_TOKENIZER_FOUND', `the model folder has no ${name}.`);
      return typeof v === 'string' ? new TextEncoder().encode(v) : v;
    },
  };
}

async function readJson(files: ModelFiles, name: string): Promise<unknown | undefined> {
  if (!files.names.includes(name)) return undefined;
  const text = utf8.decode(await files.read(name));
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new TokenizerError(
      name === 'tokenizer.json' ? 'MALFORMED_TOKENIZER_JSON' : 'INVALID_ARGUMENT',
      `${name} is not valid JSON (${(cause as Error).message}); check the file or re-download it.`,
      { cause },
    );
  }
}

/** A tiktoken rank file starts with "<base64> <rank>"; a SentencePiece model is binary protobuf. */
export function looksLikeTiktokenRanks(bytes: Uint8Array): boolean {
  const head = utf8.decode(bytes.subarray(0, 256)).split('\n')[0];
  return /^[A-Za-z0-9+/]+={0,2} \d+$/.test(head.trim());
}

function eosFromGenerationConfig(gen: unknown): number | undefined {
  const eos = (gen as { eos_token_id?: unknown } | undefined)?.eos_token_id;
  if (typeof eos === 'number') return eos;
  if (Array.isArray(eos) && typeof eos[0] === 'number') return eos[0];
  return undefined;
}

/**
 * Picks the adapter from what a model folder holds: tokenizer.json (Hugging Face), tokenizer.model
 * (SentencePiece, or a tiktoken rank file under that name as LLaMA 3 ships it), *.tiktoken rank files
 * (pattern and specials from tiktoken_config.json), or a named encoding; plus its chat template.
 */
export async function loadTokenizer(
  files: ModelFiles,
  options: LoadTokenizerOptions = {},
): Promise<LoadedTokenizer> {
  const config = ((await readJson(files, 'tokenizer_config.json')) ?? {}) as TokenizerConfig;
  // Newer transformers versions save the template beside tokenizer_config.json instead of inside it.
  if (config.chat_template == null && files.names.includes('chat_template.jinja')) {
    config.chat_template = utf8.decode(await files.read('chat_template.jinja'));
  } else if (config.chat_template == null && files.names.includes('chat_template.json')) {
    const saved = (await readJson(files, 'chat_template.json')) as { chat_template?: string } | undefined;
    if (typeof saved?.chat_template === 'string') config.chat_template = saved.chat_template;
  }
  const eosTokenId = eosFromGenerationConfig(await readJson(files, 'generation_config.json'));
  const tiktokenConfig = (await readJson(files, 'tiktoken_config.json')) as
    | {
        pat_str?: string;
        special_tokens?: Record<string, number>;
        encoding?: string;
        bos_token?: string;
        eos_token?: string;
      }
    | undefined;
  const done = (tokenizer: Tokenizer, source: string): LoadedTokenizer => ({
    tokenizer,
    source,
    config,
    chatTemplate: ChatTemplate.fromTokenizerConfig(config),
  });

  const encoding = options.encoding ?? tiktokenConfig?.encoding;
  if (encoding !== undefined) {
    return done(await TiktokenTokenizer.fromName(encoding, { eosTokenId }), `tiktoken:${encoding}`);
  }
  if (files.names.includes('tokenizer.json')) {
    const json = await readJson(files, 'tokenizer.json');
    return done(new HfTokenizer(json, { config, eosTokenId }), 'tokenizer.json');
  }
  const tiktokenFiles = files.names.filter((n) => n.endsWith('.tiktoken') || n === 'tiktoken.model');
  if (files.names.includes('tokenizer.model')) {
    const bytes = await files.read('tokenizer.model');
    if (!looksLikeTiktokenRanks(bytes)) {
      const tokenizer = new SentencePieceTokenizer(bytes, {
        addBosToken: config.add_bos_token,
        addEosToken: config.add_eos_token,
        eosTokenId,
      });
      return done(tokenizer, 'tokenizer.model');
    }
    tiktokenFiles.unshift('tokenizer.model');
  }
  if (tiktokenFiles.length > 0) {
    const name = tiktokenFiles[0];
    const tokenizer = TiktokenTokenizer.fromRankFile(utf8.decode(await files.read(name)), {
      pattern: tiktokenConfig?.pat_str,
      specialTokens: tiktokenConfig?.special_tokens,
      bosToken: tiktokenConfig?.bos_token,
      eosToken: tiktokenConfig?.eos_token,
      eosTokenId,
    });
    return done(tokenizer, name);
  }
  if (options.allowByteLevelFallback) return done(new ByteLevelTokenizer(), 'byte-level');
  throw new TokenizerError(
    'NO_TOKENIZER_FOUND',
    `the model folder has no tokenizer: looked for ${TOKENIZER_FILES.join(', ')}, *.tiktoken and tiktoken_config.json "encoding" (named: ${TIKTOKEN_ENCODINGS.join(', ')}); found ${files.names.length > 0 ? files.names.join(', ') : 'no files'}.`,
  );
}
