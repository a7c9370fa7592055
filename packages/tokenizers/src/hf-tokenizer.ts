import { ByteFallbackDecoder, Tokenizer as HfCoreTokenizer } from '@huggingface/tokenizers';
import { describeValue, TokenizerError } from './errors.js';
import type { AddedToken, DecodeOptions, EncodeOptions, Tokenizer } from './tokenizer.js';
import { assertIds, assertText, wellFormed } from './tokenizer.js';

/** The parts of tokenizer_config.json the adapters read. */
export interface TokenizerConfig {
  bos_token?: string | { content: string } | null;
  eos_token?: string | { content: string } | null;
  pad_token?: string | { content: string } | null;
  unk_token?: string | { content: string } | null;
  chat_template?: string | Array<{ name: string; template: string }> | null;
  clean_up_tokenization_spaces?: boolean;
  add_bos_token?: boolean;
  add_eos_token?: boolean;
  [key: string]: unknown;
}

export interface HfTokenizerOptions {
  /** tokenizer_config.json, for BOS/EOS/PAD names and decode clean-up. */
  config?: TokenizerConfig;
  /** Overrides the EOS id (generation_config.json's `eos_token_id` wins over tokenizer_config.json). */
  eosTokenId?: number;
  /**
   * transformers' legacy clean-up (" ." -> ".", " n't" -> "n't", ...) after decoding. Default false
   * whatever tokenizer_config.json says, as in the `tokenizers` library and text-generation-inference:
   * the clean-up rewrites text across token boundaries, so streamed chunks could not match decode().
   */
  cleanUpTokenizationSpaces?: boolean;
}

const BYTE_TOKEN = /^<0x[0-9A-Fa-f]{2}>$/;
const MODEL_TYPES = new Set(['BPE', 'Unigram', 'WordPiece']);

export function tokenName(value: TokenizerConfig['bos_token']): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof value.content === 'string') return value.content;
  return undefined;
}

/**
 * Hugging Face's ByteFallback decoder in Rust turns a run of <0xNN> tokens that is not valid UTF-8 into
 * one U+FFFD per byte token (tokenizers/src/decoders/byte_fallback.rs); the JS port decodes the run with
 * TextDecoder's replacement instead. This subclass restores the Rust behaviour so decode() matches.
 */
class RustByteFallbackDecoder extends ByteFallbackDecoder {
  private readonly strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

  override decode_chain(tokens: string[]): string[] {
    const out: string[] = [];
    let run: number[] = [];
    const flush = () => {
      if (run.length === 0) return;
      try {
        out.push(this.strict.decode(Uint8Array.from(run)));
      } catch {
        for (let i = 0; i < run.length; i++) out.push('\uFFFD');
      }
      run = [];
    };
    for (const token of tokens) {
      if (token.length === 6 && BYTE_TOKEN.test(token)) {
        run.push(Number.parseInt(token.slice(3, 5), 16));
      } else {
        flush();
        out.push(token);
      }
    }
    flush();
    return out;
  }
}

/** Control-character removal and whitespace mapping of the `Nmt` normalizer (tokenizers' nmt.rs). */
const NMT_SHIM = {
  type: 'Sequence',
  normalizers: [
    {
      type: 'Replace',
      pattern: { Regex: '[\u0001-\u0008\u000B\u000E-\u001F\u007F\u008F\u009F]' },
      content: '',
    },
    {
      type: 'Replace',
      pattern: { Regex: '[\u0009\u000A\u000C\u000D\u1680\u200B-\u200F\u2028\u2029\u2581\uFEFF\uFFFD]' },
      content: ' ',
    },
  ],
};

/** Rewrites components the JS port lacks into equivalent ones it has. */
function shimNormalizer(node: unknown): unknown {
  if (!node || typeof node !== 'object') return node;
  const n = node as { type?: string; normalizers?: unknown[] };
  if (n.type === 'Nmt') return NMT_SHIM;
  if (n.type === 'Sequence' && Array.isArray(n.normalizers)) {
    return { ...n, normalizers: n.normalizers.map(shimNormalizer) };
  }
  return node;
}

type DecoderNode = { decoders?: DecoderNode[]; constructor: unknown; config?: unknown };

function replaceByteFallback(decoder: DecoderNode | null): { decoder: DecoderNode | null; found: boolean } {
  if (!decoder) return { decoder, found: false };
  if (decoder instanceof ByteFallbackDecoder) {
    return { decoder: new RustByteFallbackDecoder({ type: 'ByteFallback' }) as never, found: true };
  }
  let found = false;
  if (Array.isArray(decoder.decoders)) {
    decoder.decoders = decoder.decoders.map((d) => {
      const r = replaceByteFallback(d);
      found ||= r.found;
      return r.decoder as DecoderNode;
    });
  }
  return { decoder, found };
}

export function validateTokenizerJson(json: unknown): asserts json is Record<string, unknown> {
  const fail = (what: string): never => {
    throw new TokenizerError(
      'MALFORMED_TOKENIZER_JSON',
      `tokenizer.json is malformed: ${what}. Re-export it with Hugging Face tokenizers (tokenizer.save) or check the download.`,
    );
  };
  if (!json || typeof json !== 'object' || Array.isArray(json))
    fail(`expected a JSON object, got ${describeValue(json)}`);
  const j = json as Record<string, unknown>;
  const model = j.model as Record<string, unknown> | undefined;
  if (!model || typeof model !== 'object') fail('it has no "model" object');
  const type = (model as Record<string, unknown>).type;
  if (type === undefined) {
    // Old files omit the type; infer it as the Rust library does.
    if ('merges' in (model as object)) (model as Record<string, unknown>).type = 'BPE';
    else if (Array.isArray((model as Record<string, unknown>).vocab))
      (model as Record<string, unknown>).type = 'Unigram';
    else fail('"model.type" is missing and cannot be inferred');
  } else if (typeof type !== 'string' || !MODEL_TYPES.has(type)) {
    throw new TokenizerError(
      'UNSUPPORTED_TOKENIZER',
      `tokenizer.json model type ${JSON.stringify(type)} is not supported; supported: ${[...MODEL_TYPES].join(', ')}.`,
    );
  }
  const vocab = (model as Record<string, unknown>).vocab;
  if (!vocab || typeof vocab !== 'object') fail('"model.vocab" is missing');
  if ((model as Record<string, unknown>).type === 'Unigram') {
    if (!Array.isArray(vocab)) fail('a Unigram "model.vocab" must be an array of [piece, score] pairs');
    (vocab as unknown[]).forEach((entry, i) => {
      if (!Array.isArray(entry) || typeof entry[0] !== 'string' || typeof entry[1] !== 'number') {
        fail(`"model.vocab[${i}]" is not a [piece, score] pair`);
      }
    });
  } else {
    if (Array.isArray(vocab)) fail('"model.vocab" must map tokens to ids');
    for (const [token, id] of Object.entries(vocab as Record<string, unknown>)) {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
        fail(
          `"model.vocab" maps ${JSON.stringify(token)} to ${JSON.stringify(id)}, not a non-negative integer id`,
        );
      }
    }
  }
  if ((model as Record<string, unknown>).type === 'BPE') {
    const merges = (model as Record<string, unknown>).merges;
    if (!Array.isArray(merges)) fail('"model.merges" must be an array');
    (merges as unknown[]).forEach((m, i) => {
      const ok =
        (typeof m === 'string' && m.includes(' ')) ||
        (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string');
      if (!ok) fail(`"model.merges[${i}]" is ${JSON.stringify(m)}, not "a b" or ["a", "b"]`);
    });
  }
  const added = j.added_tokens ?? [];
  if (!Array.isArray(added)) fail('"added_tokens" must be an array');
  (added as unknown[]).forEach((t, i) => {
    const tok = t as Record<string, unknown>;
    if (!tok || typeof tok.content !== 'string' || typeof tok.id !== 'number') {
      fail(`"added_tokens[${i}]" needs a string "content" and a numeric "id"`);
    }
  });
}

/** Hugging Face tokenizer.json (BPE byte-level, SentencePiece-style BPE with byte fallback, Unigram). */
export class HfTokenizer implements Tokenizer {
  readonly kind = 'tokenizer.json' as const;
  readonly vocabSize: number;
  readonly bosTokenId: number | undefined;
  readonly eosTokenId: number | undefined;
  readonly padTokenId: number | undefined;
  readonly unkTokenId: number | undefined;
  readonly addedTokens: readonly AddedToken[];
  readonly config: TokenizerConfig;
  private readonly core: HfCoreTokenizer;
  private readonly specialIds: Set<number>;
  private readonly byteFallbackDecoder: boolean;
  private readonly cleanUp: boolean;

  constructor(tokenizerJson: unknown, options: HfTokenizerOptions = {}) {
    validateTokenizerJson(tokenizerJson);
    const json = {
      normalizer: null,
      pre_tokenizer: null,
      post_processor: null,
      decoder: null,
      added_tokens: [],
      ...tokenizerJson,
    } as Record<string, unknown>;
    json.normalizer = shimNormalizer(json.normalizer);
    this.config = options.config ?? {};
    try {
      this.core = new HfCoreTokenizer(json, { ...this.config });
    } catch (cause) {
      throw new TokenizerError(
        'MALFORMED_TOKENIZER_JSON',
        `tokenizer.json could not be loaded: ${(cause as Error).message}. Check the file, or that its components are ones @huggingface/tokenizers supports.`,
        { cause },
      );
    }
    const core = this.core as unknown as { decoder: DecoderNode | null };
    const replaced = replaceByteFallback(core.decoder);
    core.decoder = replaced.decoder;
    this.byteFallbackDecoder = replaced.found;
    this.cleanUp = options.cleanUpTokenizationSpaces === true;

    const vocab = (this.core as unknown as { model: { vocab: Array<string | undefined> } }).model.vocab;
    this.vocabSize = vocab.length;
    this.addedTokens = [...this.core.get_added_tokens_decoder().values()]
      .map((t) => ({ id: t.id, content: t.content, special: t.special }))
      .sort((a, b) => a.id - b.id);
    this.specialIds = new Set(this.addedTokens.filter((t) => t.special).map((t) => t.id));

    const idOf = (name: string | undefined) => (name === undefined ? undefined : this.core.token_to_id(name));
    const firstPresent = (...names: string[]) =>
      names.map((n) => this.core.token_to_id(n)).find((id) => id !== undefined);
    this.bosTokenId =
      idOf(tokenName(this.config.bos_token)) ?? firstPresent('<s>', '<|begin_of_text|>', '<|endoftext|>');
    this.eosTokenId =
      options.eosTokenId ??
      idOf(tokenName(this.config.eos_token)) ??
      firstPresent('</s>', '<|end_of_text|>', '<|endoftext|>', '<|im_end|>');
    this.padTokenId = idOf(tokenName(this.config.pad_token)) ?? firstPresent('<pad>', '<|padding|>');
    const model = (tokenizerJson as { model: { unk_token?: unknown; unk_id?: unknown } }).model;
    this.unkTokenId =
      idOf(tokenName(this.config.unk_token)) ??
      (typeof model.unk_token === 'string' ? this.core.token_to_id(model.unk_token) : undefined) ??
      (typeof model.unk_id === 'number' ? model.unk_id : undefined);
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    assertText(text, 'HfTokenizer.encode');
    return this.core.encode(wellFormed(text), { add_special_tokens: options.addSpecialTokens !== false }).ids;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    assertIds(ids, this.vocabSize, 'HfTokenizer.decode');
    if (ids.length === 0) return '';
    return this.core.decode(Array.from(ids), {
      skip_special_tokens: options.skipSpecialTokens === true,
      clean_up_tokenization_spaces: this.cleanUp,
    });
  }

  idToToken(id: number): string | undefined {
    return this.core.id_to_token(id);
  }

  tokenToId(token: string): number | undefined {
    return this.core.token_to_id(token);
  }

  isSpecialToken(id: number): boolean {
    return this.specialIds.has(id);
  }

  /** A <0xNN> byte token: with a ByteFallback decoder, text before it can change until the byte run ends. */
  textMayChangeAfter(id: number): boolean {
    if (!this.byteFallbackDecoder) return false;
    const token = this.core.id_to_token(id);
    return token !== undefined && token.length === 6 && BYTE_TOKEN.test(token);
  }
}
