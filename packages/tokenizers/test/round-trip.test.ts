import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteLevelTokenizer } from '../src/byte-level.js';
import { type Tokenizer, wellFormed } from '../src/tokenizer.js';
import { hfFixture, spmFixture, tiktokenFixture } from './helpers.js';

// Text with what tokenizers get wrong: whitespace runs, CRLF, tabs, combining marks, astral emoji,
// ZWJ sequences, CJK, and arbitrary code points (lone surrogates included).
const messyText = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        ' ',
        '  ',
        '   ',
        '\t',
        '\n',
        '\r\n',
        '\n\n',
        'é',
        'e\u0301',
        '日本語',
        '😀',
        '👨‍👩‍👧',
        'ﬁ',
        '\u00a0',
      ),
      fc.string({ unit: 'grapheme', maxLength: 6 }),
      fc.string({ unit: 'binary', maxLength: 3 }),
      fc.constantFrom('Hello', 'world', 'def f(x):', 'return', '<s>', '▁'),
    ),
    { maxLength: 12 },
  )
  .map((parts) => parts.join(''));

// What each lossless tokenizer must give back for a text x.
const lossless: Array<[string, () => Tokenizer, (x: string) => string]> = [
  ['byte-level', () => new ByteLevelTokenizer(), (x) => wellFormed(x)],
  ['tiktoken rank file', () => tiktokenFixture(), (x) => wellFormed(x)],
  // NFC normalizer in front of byte-level BPE: lossless up to NFC.
  [
    'tokenizer.json byte-level BPE (NFC)',
    () => hfFixture('bytelevel-bpe'),
    (x) => wellFormed(x).normalize('NFC'),
  ],
  // Spaces become U+2581 and back, so a literal U+2581 comes back as a space. Hugging Face parses
  // special-token text ("<s>") in input as the special token, so such input is not plain text.
  ['tokenizer.json LLaMA-style BPE', () => hfFixture('llama-bpe'), (x) => wellFormed(x).replaceAll('▁', ' ')],
  [
    'SentencePiece BPE (identity rules)',
    () => spmFixture('spm-bpe'),
    (x) => wellFormed(x).replaceAll('▁', ' '),
  ],
];

describe('decode(encode(x)) == x where the tokenizer is lossless', () => {
  for (const [name, make, expectedText] of lossless) {
    it(name, () => {
      const tok = make();
      fc.assert(
        fc.property(messyText, (x) => {
          fc.pre(
            !tok.addedTokens.some((t) => t.special && x.includes(t.content)) || tok.kind !== 'tokenizer.json',
          );
          const ids = tok.encode(x, { addSpecialTokens: false });
          expect(tok.decode(ids)).toBe(expectedText(x));
          const withSpecial = tok.encode(x);
          expect(tok.decode(withSpecial, { skipSpecialTokens: true })).toBe(expectedText(x));
        }),
        { numRuns: 300 },
      );
    });
  }

  it('SentencePiece: the whole-string identity normalizer equals normalizer.cc byte loop', () => {
    for (const name of ['spm-bpe', 'spm-unigram'] as const) {
      const tok = spmFixture(name) as unknown as {
        normalize(t: string): string;
        normalizeBytes(t: string): string;
      };
      fc.assert(
        fc.property(messyText, (x) => {
          expect(tok.normalize(x)).toBe(tok.normalizeBytes(wellFormed(x)));
        }),
        { numRuns: 300 },
      );
    }
  });

  it('SentencePiece models with whitespace clean-up or NFKC are lossy in the documented way', () => {
    const tok = spmFixture('spm-unigram');
    expect(tok.decode(tok.encode('  a   b  ', { addSpecialTokens: false }))).toBe('a b');
    const nfkc = spmFixture('spm-unigram-nfkc');
    expect(nfkc.decode(nfkc.encode('ﬁ ＡＢＣ', { addSpecialTokens: false }))).toBe('fi ABC');
  });

  it('idToToken / tokenToId are inverse on the whole vocabulary', () => {
    for (const [, make] of lossless) {
      const tok = make();
      let checked = 0;
      for (let id = 0; id < tok.vocabSize; id++) {
        const token = tok.idToToken(id);
        if (token === undefined) continue;
        expect(tok.tokenToId(token)).toBe(id);
        checked++;
      }
      expect(checked).toBeGreaterThan(tok.vocabSize * 0.99);
    }
  });
});
