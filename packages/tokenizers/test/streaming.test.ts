import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteLevelTokenizer } from '../src/byte-level.js';
import { HfTokenizer } from '../src/hf-tokenizer.js';
import { StreamingDetokenizer } from '../src/streaming-detokenizer.js';
import type { Tokenizer } from '../src/tokenizer.js';
import { expected, hfFixture, readJson, spmFixture, tiktokenFixture } from './helpers.js';

const tokenizers: Array<[string, () => Tokenizer]> = [
  ['byte-level', () => new ByteLevelTokenizer()],
  ['tokenizer.json byte-level BPE', () => hfFixture('bytelevel-bpe')],
  ['tokenizer.json LLaMA-style BPE + byte fallback', () => hfFixture('llama-bpe')],
  ['tokenizer.json Unigram', () => hfFixture('unigram')],
  ['SentencePiece BPE + byte fallback', () => spmFixture('spm-bpe')],
  ['SentencePiece Unigram', () => spmFixture('spm-unigram')],
  ['SentencePiece Unigram nmt_nfkc', () => spmFixture('spm-unigram-nfkc')],
  ['tiktoken rank file', () => tiktokenFixture()],
];

function stream(tok: Tokenizer, ids: number[], groups: number[], skipSpecialTokens = false): string[] {
  const s = new StreamingDetokenizer(tok, { skipSpecialTokens });
  const chunks: string[] = [];
  let i = 0;
  let g = 0;
  while (i < ids.length) {
    const n = Math.max(1, groups[g++ % Math.max(1, groups.length)] ?? 1);
    chunks.push(s.push(ids.slice(i, i + n)));
    i += n;
  }
  chunks.push(s.flush());
  return chunks;
}

describe('StreamingDetokenizer', () => {
  for (const [name, make] of tokenizers) {
    describe(name, () => {
      it('chunks of random id streams concatenate to decode(all), special tokens kept or skipped', () => {
        const tok = make();
        fc.assert(
          fc.property(
            fc.array(fc.integer({ min: 0, max: tok.vocabSize - 1 }), { maxLength: 40 }),
            fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 5 }),
            fc.boolean(),
            (ids, groups, skip) => {
              expect(stream(tok, ids, groups, skip).join('')).toBe(
                tok.decode(ids, { skipSpecialTokens: skip }),
              );
            },
          ),
          { numRuns: 150 },
        );
      });

      it('streams real text token by token with no U+FFFD and no lag beyond split characters', () => {
        const tok = make();
        for (const { text } of expected.tokenizers['spm-bpe'].cases) {
          const ids = tok.encode(text, { addSpecialTokens: false });
          const s = new StreamingDetokenizer(tok);
          let emitted = '';
          for (let i = 0; i < ids.length; i++) {
            emitted += s.push(ids[i]);
            expect(emitted).not.toContain('\uFFFD');
            const soFar = tok.decode(ids.slice(0, i + 1));
            // Whenever the text so far is final, all of it has been emitted.
            if (!soFar.endsWith('\uFFFD') && !tok.textMayChangeAfter?.(ids[i])) expect(emitted).toBe(soFar);
          }
          expect(emitted + s.flush()).toBe(tok.decode(ids));
        }
      });
    });
  }

  it('holds a character split over byte-fallback tokens until it is complete', () => {
    const tok = spmFixture('spm-bpe');
    const ids = tok.encode('ï', { addSpecialTokens: false });
    expect(ids.map((id) => tok.idToToken(id))).toEqual(['▁', '<0xC3>', '<0xAF>']);
    const s = new StreamingDetokenizer(tok);
    expect(s.push(ids[0])).toBe('');
    expect(s.push(ids[1])).toBe('');
    expect(s.push(ids[2])).toBe('ï');
    expect(s.flush()).toBe('');
  });

  it("keeps SentencePiece's space between words after the first", () => {
    const tok = spmFixture('spm-bpe');
    const ids = tok.encode('Hello world again', { addSpecialTokens: false });
    const chunks = stream(tok, ids, [1]);
    expect(chunks.join('')).toBe('Hello world again');
    expect(chunks[0]).not.toMatch(/^ /);
  });

  it('emits a replacement character only when the full decode has one (invalid bytes, at flush)', () => {
    const tok = new ByteLevelTokenizer();
    const s = new StreamingDetokenizer(tok);
    expect(s.push(0x61)).toBe('a');
    expect(s.push([0xe6, 0x97])).toBe('');
    expect(s.flush()).toBe('\uFFFD');
    expect(tok.decode([0x61, 0xe6, 0x97])).toBe('a\uFFFD');
  });

  it("ignores tokenizer_config's clean_up_tokenization_spaces unless asked, so streaming stays exact", () => {
    const json = readJson('bytelevel-bpe/tokenizer.json');
    const legacyConfig = { clean_up_tokenization_spaces: true };
    const plain = new HfTokenizer(json, { config: legacyConfig });
    const ids = plain.encode("I do n't know .", { addSpecialTokens: false });
    expect(plain.decode(ids)).toBe("I do n't know .");
    expect(stream(plain, ids, [1]).join('')).toBe("I do n't know .");
    const legacy = new HfTokenizer(json, { config: legacyConfig, cleanUpTokenizationSpaces: true });
    expect(legacy.decode(ids)).toBe("I don't know.");
  });

  it('rejects out-of-range ids without corrupting the stream', () => {
    const tok = new ByteLevelTokenizer();
    const s = new StreamingDetokenizer(tok);
    expect(s.push([0x68, 0x69])).toBe('hi');
    expect(() => s.push(9999)).toThrow(/outside the vocabulary/);
    expect(s.push(0x21)).toBe('!');
    expect(s.tokenIds).toEqual([0x68, 0x69, 0x21]);
  });
});
