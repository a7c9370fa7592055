import { describe, expect, it } from 'vitest';
import { ByteLevelTokenizer } from '../src/byte-level.js';
import { TokenizerError } from '../src/errors.js';
import { HfTokenizer } from '../src/hf-tokenizer.js';
import { filesFromRecord, loadTokenizer } from '../src/load.js';
import { loadTokenizerFromDirectory } from '../src/node.js';
import { SentencePieceTokenizer } from '../src/sentencepiece.js';
import { parseTiktokenRanks, TiktokenTokenizer } from '../src/tiktoken.js';
import type { Tokenizer } from '../src/tokenizer.js';
import { hfFixture, readFixture, readJson, spmFixture, tiktokenFixture } from './helpers.js';

function expectError(fn: () => unknown, code: string, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected a TokenizerError').toBeInstanceOf(TokenizerError);
  expect((caught as TokenizerError).code).toBe(code);
  expect((caught as TokenizerError).message).toMatch(message);
}

async function expectRejection(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const caught = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(caught, 'expected a TokenizerError').toBeInstanceOf(TokenizerError);
  expect((caught as TokenizerError).code).toBe(code);
  expect((caught as TokenizerError).message).toMatch(message);
}

const all: Array<[string, () => Tokenizer]> = [
  ['byte-level', () => new ByteLevelTokenizer()],
  ['tokenizer.json', () => hfFixture('bytelevel-bpe')],
  ['SentencePiece', () => spmFixture('spm-bpe')],
  ['tiktoken', () => tiktokenFixture()],
];

describe('bad input', () => {
  for (const [name, make] of all) {
    describe(name, () => {
      it('non-string text', () => {
        const tok = make();
        for (const bad of [123, null, undefined, { text: 'x' }, ['a'], new Uint8Array(2)]) {
          expectError(() => tok.encode(bad as never), 'INVALID_TEXT', /needs a string, got (a|an|null)/);
        }
      });

      it('ids out of range or not integers', () => {
        const tok = make();
        expectError(
          () => tok.decode([0, tok.vocabSize]),
          'ID_OUT_OF_RANGE',
          new RegExp(`ids\\[1\\] = ${tok.vocabSize} is outside the vocabulary \\[0, ${tok.vocabSize}\\)`),
        );
        expectError(() => tok.decode([-1]), 'ID_OUT_OF_RANGE', /ids\[0\] = -1/);
        expectError(() => tok.decode([1.5]), 'INVALID_IDS', /ids\[0\] is 1.5, not an integer/);
        expectError(() => tok.decode([Number.NaN]), 'INVALID_IDS', /NaN/);
        expectError(() => tok.decode('12' as never), 'INVALID_IDS', /array of token ids, got a string/);
      });
    });
  }

  describe('malformed tokenizer.json', () => {
    const good = readJson('bytelevel-bpe/tokenizer.json') as Record<string, unknown>;
    const model = good.model as Record<string, unknown>;
    it('is not an object', () => {
      expectError(
        () => new HfTokenizer([]),
        'MALFORMED_TOKENIZER_JSON',
        /expected a JSON object, got an array/,
      );
      expectError(() => new HfTokenizer('{}'), 'MALFORMED_TOKENIZER_JSON', /got a string/);
    });
    it('has no model', () => {
      expectError(
        () => new HfTokenizer({ ...good, model: undefined }),
        'MALFORMED_TOKENIZER_JSON',
        /no "model" object/,
      );
    });
    it('has a vocab with a non-integer id', () => {
      const vocab = { ...(model.vocab as object), broken: 'seven' };
      expectError(
        () => new HfTokenizer({ ...good, model: { ...model, vocab } }),
        'MALFORMED_TOKENIZER_JSON',
        /maps "broken" to "seven"/,
      );
    });
    it('has a broken merge', () => {
      const merges = [...(model.merges as unknown[]), ['only-one']];
      expectError(
        () => new HfTokenizer({ ...good, model: { ...model, merges } }),
        'MALFORMED_TOKENIZER_JSON',
        /model.merges\[\d+\]" is \["only-one"\]/,
      );
    });
    it('names an unsupported model type', () => {
      expectError(
        () => new HfTokenizer({ ...good, model: { ...model, type: 'WordLevel' } }),
        'UNSUPPORTED_TOKENIZER',
        /model type "WordLevel" is not supported/,
      );
    });
    it('has a component the library does not know', () => {
      expectError(
        () => new HfTokenizer({ ...good, normalizer: { type: 'Quantum' } }),
        'MALFORMED_TOKENIZER_JSON',
        /could not be loaded: Unknown Normalizer type: Quantum/,
      );
    });
    it('is not JSON at all (through the folder loader)', async () => {
      await expectRejection(
        loadTokenizer(filesFromRecord({ 'tokenizer.json': '{"model": ' })),
        'MALFORMED_TOKENIZER_JSON',
        /tokenizer.json is not valid JSON/,
      );
    });
  });

  describe('malformed tokenizer.model', () => {
    const good = new Uint8Array(readFixture('spm-bpe/tokenizer.model'));
    it('is empty', () => {
      expectError(
        () => new SentencePieceTokenizer(new Uint8Array(0)),
        'MALFORMED_SENTENCEPIECE_MODEL',
        /holds no pieces/,
      );
    });
    it('is truncated', () => {
      expectError(
        () => new SentencePieceTokenizer(good.subarray(0, good.length - 37)),
        'MALFORMED_SENTENCEPIECE_MODEL',
        /not a valid SentencePiece model: (length \d+ runs past the end|truncated)/,
      );
    });
    it('is random bytes', () => {
      const junk = new Uint8Array(512);
      for (let i = 0; i < junk.length; i++) junk[i] = (i * 2654435761) >>> 24;
      expectError(
        () => new SentencePieceTokenizer(junk),
        'MALFORMED_SENTENCEPIECE_MODEL',
        /not a valid SentencePiece model/,
      );
    });
    it('is a JSON file by mistake', () => {
      expectError(
        () => new SentencePieceTokenizer(new TextEncoder().encode('{"model": {}}')),
        'MALFORMED_SENTENCEPIECE_MODEL',
        /SentencePiece/,
      );
    });
    it('is not bytes', () => {
      expectError(
        () => new SentencePieceTokenizer('model' as never),
        'MALFORMED_SENTENCEPIECE_MODEL',
        /as bytes/,
      );
    });
  });

  describe('tiktoken', () => {
    it('unknown named encoding lists the known ones', async () => {
      await expectRejection(
        TiktokenTokenizer.fromName('cl200k_base'),
        'UNKNOWN_ENCODING',
        /unknown tiktoken encoding "cl200k_base"; known encodings: gpt2, r50k_base, p50k_base, p50k_edit, cl100k_base, o200k_base/,
      );
      await expectRejection(
        loadTokenizer(filesFromRecord({}), { encoding: 'gpt5' }),
        'UNKNOWN_ENCODING',
        /"gpt5"/,
      );
    });
    it('malformed rank files', () => {
      expectError(() => parseTiktokenRanks(''), 'MALFORMED_TIKTOKEN_RANKS', /holds no ranks/);
      expectError(
        () => parseTiktokenRanks('IQ== 0\nIg== x\n'),
        'MALFORMED_TIKTOKEN_RANKS',
        /line 2 is "Ig== x"/,
      );
      expectError(
        () => parseTiktokenRanks('IQ== 0\nIg== 0\n'),
        'MALFORMED_TIKTOKEN_RANKS',
        /line 2 repeats rank 0/,
      );
      expectError(() => parseTiktokenRanks(new Uint8Array(3)), 'MALFORMED_TIKTOKEN_RANKS', /must be text/);
    });
    it('a rank table that cannot encode every byte', () => {
      expectError(
        () => TiktokenTokenizer.fromRankFile('IQ== 0\nIg== 1\n'),
        'MALFORMED_TIKTOKEN_RANKS',
        /no token for the single byte 0x00/,
      );
    });
    it('a split pattern JavaScript cannot compile', () => {
      expectError(
        () => TiktokenTokenizer.fromRankFile('IQ== 0\n', { pattern: "(?i:'s|'t)|\\p{L}++" }),
        'MALFORMED_TIKTOKEN_RANKS',
        /not a valid JavaScript regular expression/,
      );
    });
  });

  describe('model folders', () => {
    it('without any tokenizer file says what it looked for', async () => {
      await expectRejection(
        loadTokenizer(filesFromRecord({ 'config.json': '{}' })),
        'NO_TOKENIZER_FOUND',
        /looked for tokenizer.json, tokenizer.model, tokenizer.tiktoken, tiktoken.model.*found config.json/,
      );
    });
    it('that does not exist', async () => {
      await expectRejection(
        loadTokenizerFromDirectory('/nonexistent/model'),
        'NO_TOKENIZER_FOUND',
        /cannot read the model folder \/nonexistent\/model/,
      );
    });
  });
});
