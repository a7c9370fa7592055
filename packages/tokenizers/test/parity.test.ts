import { describe, expect, it } from 'vitest';
import { TiktokenTokenizer } from '../src/tiktoken.js';
import {
  expected,
  heldout,
  hfFixture,
  readFixture,
  readJson,
  spmFixture,
  tiktokenFixture,
} from './helpers.js';

describe(
  'reference parity: tokenizer.json (Hugging Face tokenizers ' + expected.versions.tokenizers + ')',
  () => {
    for (const name of ['bytelevel-bpe', 'llama-bpe', 'unigram'] as const) {
      describe(name, () => {
        const ref = expected.tokenizers[name];
        it('vocab size', () => {
          expect(hfFixture(name).vocabSize).toBe(ref.vocab_size);
        });
        for (const c of ref.cases) {
          it(`encodes ${JSON.stringify(c.text.slice(0, 40))}`, () => {
            const tok = hfFixture(name);
            expect(tok.encode(c.text, { addSpecialTokens: false })).toEqual(c.ids);
            expect(tok.encode(c.text)).toEqual(c.ids_with_special);
            expect(tok.decode(c.ids)).toBe(c.decoded);
            expect(tok.decode(c.ids_with_special!, { skipSpecialTokens: true })).toBe(
              c.decoded_with_special_skipped,
            );
            expect(tok.decode(c.ids_with_special!)).toBe(c.decoded_with_special_kept);
          });
        }
        it('encodes the held-out text (14 KB, 10 languages + code)', () => {
          expect(hfFixture(name).encode(heldout, { addSpecialTokens: false })).toEqual(ref.heldout_ids);
        });
        it('decodes random id streams (invalid UTF-8 included) like the reference', () => {
          for (const r of ref.random_decodes) {
            expect(hfFixture(name).decode(r.ids)).toBe(r.decoded);
            expect(hfFixture(name).decode(r.ids, { skipSpecialTokens: true })).toBe(r.decoded_skip_special);
          }
        });
      });
    }
  },
);

describe(
  'reference parity: SentencePiece .model (sentencepiece ' + expected.versions.sentencepiece + ')',
  () => {
    for (const name of ['spm-bpe', 'spm-unigram', 'spm-unigram-nfkc'] as const) {
      describe(name, () => {
        const ref = expected.tokenizers[name];
        it('vocab size and special ids', () => {
          const tok = spmFixture(name);
          expect(tok.vocabSize).toBe(ref.vocab_size);
          expect(tok.bosTokenId).toBe(ref.bos_id);
          expect(tok.eosTokenId).toBe(ref.eos_id);
          expect(tok.unkTokenId).toBe(ref.unk_id);
          expect(tok.padTokenId).toBeUndefined();
        });
        for (const c of ref.cases) {
          it(`encodes ${JSON.stringify(c.text.slice(0, 40))}`, () => {
            const tok = spmFixture(name);
            if (c.normalized !== undefined) expect(tok.normalize(c.text)).toBe(c.normalized);
            expect(tok.encode(c.text, { addSpecialTokens: false })).toEqual(c.ids);
            expect(tok.encode(c.text)).toEqual([ref.bos_id, ...c.ids]);
            expect(c.ids.map((id) => tok.idToToken(id))).toEqual(c.tokens);
            expect(tok.decode(c.ids)).toBe(c.decoded);
          });
        }
        it('encodes the held-out text', () => {
          expect(spmFixture(name).encode(heldout, { addSpecialTokens: false })).toEqual(ref.heldout_ids);
        });
        it('decodes random id streams (byte pieces, invalid UTF-8) like the reference', () => {
          for (const r of ref.random_decodes) expect(spmFixture(name).decode(r.ids)).toBe(r.decoded);
        });
      });
    }
  },
);

describe('reference parity: tiktoken rank file (tiktoken ' + expected.versions.tiktoken + ')', () => {
  const ref = expected.tokenizers.tiktoken;
  it('vocab size', () => {
    expect(tiktokenFixture().vocabSize).toBe(ref.vocab_size);
  });
  for (const c of ref.cases) {
    it(`encodes ${JSON.stringify(c.text.slice(0, 40))}`, () => {
      const tok = tiktokenFixture();
      expect(tok.encode(c.text)).toEqual(c.ids);
      expect(tok.decode(c.ids)).toBe(c.decoded);
    });
  }
  it('recognises special tokens in text only when allowed (tiktoken encode(allowed_special="all"))', () => {
    const config = readJson('tiktoken/tiktoken_config.json') as {
      pat_str: string;
      special_tokens: Record<string, number>;
    };
    const allowing = TiktokenTokenizer.fromRankFile(
      readFixture('tiktoken/tokenizer.tiktoken').toString('utf8'),
      {
        pattern: config.pat_str,
        specialTokens: config.special_tokens,
        allowedSpecial: 'all',
      },
    );
    let differing = 0;
    for (const c of ref.cases) {
      expect(allowing.encode(c.text)).toEqual(c.ids_allowed_special);
      if (c.ids_allowed_special!.join() !== c.ids.join()) differing++;
    }
    expect(differing).toBeGreaterThan(0);
  });
  it('encodes the held-out text', () => {
    expect(tiktokenFixture().encode(heldout)).toEqual(ref.heldout_ids);
  });
  it('decodes random id streams like the reference', () => {
    for (const r of ref.random_decodes) expect(tiktokenFixture().decode(r.ids)).toBe(r.decoded);
  });
});
