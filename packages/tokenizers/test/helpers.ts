import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HfTokenizer } from '../src/hf-tokenizer.js';
import { SentencePieceTokenizer } from '../src/sentencepiece.js';
import { TiktokenTokenizer } from '../src/tiktoken.js';

export const FIXTURES = join(import.meta.dirname, 'fixtures');

export interface ExpectedCase {
  text: string;
  ids: number[];
  ids_with_special?: number[];
  ids_allowed_special?: number[];
  tokens?: string[];
  decoded: string;
  decoded_with_special_skipped?: string;
  decoded_with_special_kept?: string;
  normalized?: string;
}

export interface ExpectedTokenizer {
  kind: string;
  vocab_size: number;
  bos_id?: number;
  eos_id?: number;
  unk_id?: number;
  pad_id?: number;
  cases: ExpectedCase[];
  heldout_ids: number[];
  random_decodes: Array<{ ids: number[]; decoded: string; decoded_skip_special?: string }>;
}

export interface Expected {
  versions: Record<string, string>;
  tokenizers: Record<string, ExpectedTokenizer>;
  chat: Record<
    string,
    {
      messages: Array<{ role: string; content: string }>;
      renders: Array<{ with_system: boolean; add_generation_prompt: boolean; text?: string; error?: string }>;
    }
  >;
}

export const expected: Expected = JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8'));
export const heldout = readFileSync(
  join(import.meta.dirname, '../../../training/tokenizer_fixtures/heldout.txt'),
  'utf8',
);

export function readFixture(name: string): Buffer {
  return readFileSync(join(FIXTURES, name));
}

export function readJson(name: string): unknown {
  return JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));
}

const cache = new Map<string, unknown>();

export function hfFixture(name: 'bytelevel-bpe' | 'llama-bpe' | 'unigram'): HfTokenizer {
  const key = `hf:${name}`;
  if (!cache.has(key)) {
    cache.set(
      key,
      new HfTokenizer(readJson(`${name}/tokenizer.json`), {
        config: readJson(`${name}/tokenizer_config.json`) as never,
      }),
    );
  }
  return cache.get(key) as HfTokenizer;
}

export function spmFixture(name: 'spm-bpe' | 'spm-unigram' | 'spm-unigram-nfkc'): SentencePieceTokenizer {
  const key = `spm:${name}`;
  if (!cache.has(key))
    cache.set(key, new SentencePieceTokenizer(new Uint8Array(readFixture(`${name}/tokenizer.model`))));
  return cache.get(key) as SentencePieceTokenizer;
}

export function tiktokenFixture(): TiktokenTokenizer {
  if (!cache.has('tiktoken')) {
    const config = readJson('tiktoken/tiktoken_config.json') as {
      pat_str: string;
      special_tokens: Record<string, number>;
    };
    cache.set(
      'tiktoken',
      TiktokenTokenizer.fromRankFile(readFixture('tiktoken/tokenizer.tiktoken').toString('utf8'), {
        pattern: config.pat_str,
        specialTokens: config.special_tokens,
      }),
    );
  }
  return cache.get('tiktoken') as TiktokenTokenizer;
}
