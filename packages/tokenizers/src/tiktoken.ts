import { Tiktoken, type TiktokenBPE } from 'js-tiktoken/lite';
import { describeValue, TokenizerError } from './errors.js';
import type { AddedToken, DecodeOptions, EncodeOptions, Tokenizer } from './tokenizer.js';
import { assertIds, assertText, wellFormed } from './tokenizer.js';

/**
 * cl100k_base's split pattern written for JavaScript's RegExp (no possessive quantifiers, no inline
 * flags), as js-tiktoken ships it. The default for rank files that come without a pattern (LLaMA 3's
 * tokenizer.model in tiktoken format uses this family of patterns).
 */
export const CL100K_PATTERN =
  "('s|'S|'t|'T|'re|'rE|'Re|'RE|'ve|'vE|'Ve|'VE|'m|'M|'ll|'lL|'Ll|'LL|'d|'D)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

export const TIKTOKEN_ENCODINGS = [
  'gpt2',
  'r50k_base',
  'p50k_base',
  'p50k_edit',
  'cl100k_base',
  'o200k_base',
] as const;
export type TiktokenEncodingName = (typeof TIKTOKEN_ENCODINGS)[number];

export interface TiktokenOptions {
  /** The split regex (JavaScript syntax). Default: CL100K_PATTERN. */
  pattern?: string;
  /** Special token text -> id. */
  specialTokens?: Record<string, number>;
  bosToken?: string;
  eosToken?: string;
  padToken?: string;
  /**
   * Special tokens recognised in input text. Default none: text such as "<|endoftext|>" is encoded as
   * plain text (tiktoken's encode_ordinary), so user input cannot inject control tokens.
   */
  allowedSpecial?: 'all' | readonly string[];
  /** Overrides the EOS id. */
  eosTokenId?: number;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Parses a `.tiktoken` rank file ("<base64 token> <rank>" per line) into js-tiktoken's rank string. */
export function parseTiktokenRanks(text: unknown): { bpeRanks: string; maxRank: number; count: number } {
  if (typeof text !== 'string') {
    throw new TokenizerError(
      'MALFORMED_TIKTOKEN_RANKS',
      `a tiktoken rank file must be text, got ${describeValue(text)}.`,
    );
  }
  const entries: Array<[string, number]> = [];
  const seen = new Set<number>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line.length === 0) continue;
    const parts = line.split(' ');
    const rank = Number(parts[1]);
    if (
      parts.length !== 2 ||
      !BASE64.test(parts[0]) ||
      parts[0].length % 4 !== 0 ||
      !Number.isInteger(rank) ||
      rank < 0
    ) {
      throw new TokenizerError(
        'MALFORMED_TIKTOKEN_RANKS',
        `tiktoken rank file line ${i + 1} is ${JSON.stringify(line.slice(0, 60))}; expected "<base64 token> <rank>".`,
      );
    }
    if (seen.has(rank)) {
      throw new TokenizerError(
        'MALFORMED_TIKTOKEN_RANKS',
        `tiktoken rank file line ${i + 1} repeats rank ${rank}.`,
      );
    }
    seen.add(rank);
    entries.push([parts[0], rank]);
  }
  if (entries.length === 0) {
    throw new TokenizerError(
      'MALFORMED_TIKTOKEN_RANKS',
      'the tiktoken rank file holds no ranks; it is empty or not a rank file.',
    );
  }
  entries.sort((a, b) => a[1] - b[1]);
  const out: string[] = [];
  let run: string[] = [];
  let runStart = entries[0][1];
  for (let i = 0; i < entries.length; i++) {
    if (i > 0 && entries[i][1] !== entries[i - 1][1] + 1) {
      out.push(`! ${runStart} ${run.join(' ')}`);
      run = [];
      runStart = entries[i][1];
    }
    run.push(entries[i][0]);
  }
  out.push(`! ${runStart} ${run.join(' ')}`);
  return { bpeRanks: out.join('\n'), maxRank: entries[entries.length - 1][1], count: entries.length };
}

/** tiktoken encodings through js-tiktoken: a rank file, or one of the named OpenAI encodings. */
export class TiktokenTokenizer implements Tokenizer {
  readonly kind = 'tiktoken' as const;
  readonly vocabSize: number;
  readonly bosTokenId: number | undefined;
  readonly eosTokenId: number | undefined;
  readonly padTokenId: number | undefined;
  readonly unkTokenId = undefined;
  readonly addedTokens: readonly AddedToken[];
  private readonly core: Tiktoken;
  private readonly allowed: 'all' | string[];
  private readonly specialIds: Set<number>;
  private readonly textMap: Map<number, Uint8Array>;
  private readonly strict = new TextDecoder('utf-8', { fatal: true });

  constructor(bpe: TiktokenBPE, options: Omit<TiktokenOptions, 'pattern' | 'specialTokens'> = {}) {
    try {
      new RegExp(bpe.pat_str, 'u');
    } catch (cause) {
      throw new TokenizerError(
        'MALFORMED_TIKTOKEN_RANKS',
        `the tiktoken split pattern is not a valid JavaScript regular expression (${(cause as Error).message}); translate possessive quantifiers and inline flags.`,
        { cause },
      );
    }
    this.core = new Tiktoken(bpe);
    this.textMap = (this.core as unknown as { textMap: Map<number, Uint8Array> }).textMap;
    // js-tiktoken silently drops bytes it has no rank for; refuse such tables instead.
    const rankMap = (this.core as unknown as { rankMap: Map<string, number> }).rankMap;
    for (let b = 0; b < 256; b++) {
      if (!rankMap.has(String(b))) {
        throw new TokenizerError(
          'MALFORMED_TIKTOKEN_RANKS',
          `the tiktoken ranks have no token for the single byte 0x${b.toString(16).padStart(2, '0')}, so some text could not be encoded; the rank file is incomplete.`,
        );
      }
    }
    let max = -1;
    for (const rank of this.textMap.keys()) max = Math.max(max, rank);
    const specials = Object.entries(bpe.special_tokens);
    for (const [, id] of specials) max = Math.max(max, id);
    this.vocabSize = max + 1;
    this.addedTokens = specials
      .map(([content, id]) => ({ id, content, special: true }))
      .sort((a, b) => a.id - b.id);
    this.specialIds = new Set(specials.map(([, id]) => id));
    const idOf = (name: string | undefined) => (name === undefined ? undefined : bpe.special_tokens[name]);
    this.bosTokenId = idOf(options.bosToken);
    this.eosTokenId = options.eosTokenId ?? idOf(options.eosToken ?? '<|endoftext|>');
    this.padTokenId = idOf(options.padToken);
    const allowed = options.allowedSpecial ?? [];
    this.allowed = allowed === 'all' ? 'all' : [...allowed];
  }

  /** From a `.tiktoken` rank file's text. */
  static fromRankFile(text: string, options: TiktokenOptions = {}): TiktokenTokenizer {
    const { bpeRanks } = parseTiktokenRanks(text);
    return new TiktokenTokenizer(
      {
        pat_str: options.pattern ?? CL100K_PATTERN,
        special_tokens: options.specialTokens ?? {},
        bpe_ranks: bpeRanks,
      },
      options,
    );
  }

  /** One of OpenAI's named encodings; its ranks load lazily, so only the one asked for is bundled in. */
  static async fromName(name: string, options: Omit<TiktokenOptions, 'pattern' | 'specialTokens'> = {}) {
    const bpe = await loadNamedRanks(name);
    return new TiktokenTokenizer(bpe, options);
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    assertText(text, 'TiktokenTokenizer.encode');
    const ids = this.core.encode(wellFormed(text), this.allowed, []);
    if (options.addSpecialTokens !== false && this.bosTokenId !== undefined) ids.unshift(this.bosTokenId);
    return ids;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    assertIds(ids, this.vocabSize, 'TiktokenTokenizer.decode');
    for (let i = 0; i < ids.length; i++) {
      if (!this.textMap.has(ids[i]) && !this.specialIds.has(ids[i])) {
        throw new TokenizerError(
          'ID_OUT_OF_RANGE',
          `TiktokenTokenizer.decode: ids[${i}] = ${ids[i]} is not a rank of this encoding.`,
        );
      }
    }
    const kept = options.skipSpecialTokens ? ids.filter((id) => !this.specialIds.has(id)) : Array.from(ids);
    return this.core.decode(kept);
  }

  idToToken(id: number): string | undefined {
    const special = this.addedTokens.find((t) => t.id === id);
    if (special) return special.content;
    const bytes = this.textMap.get(id);
    if (!bytes) return undefined;
    try {
      return this.strict.decode(bytes);
    } catch {
      return Array.from(bytes, (b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`).join('');
    }
  }

  tokenToId(token: string): number | undefined {
    const special = this.addedTokens.find((t) => t.content === token);
    if (special) return special.id;
    const rankMap = (this.core as unknown as { rankMap: Map<string, number> }).rankMap;
    const hex = token.match(/^(<0x[0-9A-F]{2}>)+$/)
      ? token.match(/<0x([0-9A-F]{2})>/g)!.map((h) => Number.parseInt(h.slice(3, 5), 16))
      : null;
    const bytes = hex ?? Array.from(new TextEncoder().encode(token));
    return rankMap.get(bytes.join(','));
  }

  isSpecialToken(id: number): boolean {
    return this.specialIds.has(id);
  }
}

async function loadNamedRanks(name: string): Promise<TiktokenBPE> {
  switch (name) {
    case 'gpt2':
      return (await import('js-tiktoken/ranks/gpt2')).default;
    case 'r50k_base':
      return (await import('js-tiktoken/ranks/r50k_base')).default;
    case 'p50k_base':
      return (await import('js-tiktoken/ranks/p50k_base')).default;
    case 'p50k_edit':
      return (await import('js-tiktoken/ranks/p50k_edit')).default;
    case 'cl100k_base':
      return (await import('js-tiktoken/ranks/cl100k_base')).default;
    case 'o200k_base':
      return (await import('js-tiktoken/ranks/o200k_base')).default;
    default:
      throw new TokenizerError(
        'UNKNOWN_ENCODING',
        `unknown tiktoken encoding ${JSON.stringify(name)}; known encodings: ${TIKTOKEN_ENCODINGS.join(', ')}. For another encoding pass its rank file to TiktokenTokenizer.fromRankFile.`,
      );
  }
}
