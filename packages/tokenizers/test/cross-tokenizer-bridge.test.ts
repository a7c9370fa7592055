import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CrossTokenizerBridge } from '../src/cross-tokenizer-bridge.js';
import type { Tokenizer } from '../src/tokenizer.js';
import { expected, heldout, hfFixture, spmFixture, tiktokenFixture } from './helpers.js';

// Lossless pairs with different vocabularies and different pre-tokenization rules.
const pairs: Array<[string, () => Tokenizer, () => Tokenizer]> = [
  ['SentencePiece BPE -> byte-level BPE', () => spmFixture('spm-bpe'), () => hfFixture('bytelevel-bpe')],
  ['byte-level BPE -> SentencePiece BPE', () => hfFixture('bytelevel-bpe'), () => spmFixture('spm-bpe')],
  ['tiktoken -> LLaMA-style tokenizer.json', () => tiktokenFixture(), () => hfFixture('llama-bpe')],
];

const texts = expected.tokenizers['spm-bpe'].cases
  .map((c) => c.text)
  .filter((t) => !t.includes('<') && t === t.normalize('NFC'));

describe('CrossTokenizerBridge', () => {
  for (const [name, makeSource, makeTarget] of pairs) {
    describe(name, () => {
      it('follows a growing stream: target text always equals source text, ids equal a full re-encode', () => {
        const source = makeSource();
        const target = makeTarget();
        let equalToFull = 0;
        let syncs = 0;
        for (const text of texts) {
          const ids = source.encode(text, { addSpecialTokens: false });
          const bridge = new CrossTokenizerBridge(source, target);
          let mirror: number[] = [];
          for (let n = 1; n <= ids.length; n++) {
            const edit = bridge.sync(ids.slice(0, n));
            mirror = [...mirror.slice(0, edit.keep), ...edit.append];
            expect(mirror).toEqual(bridge.targetIds);
            const sourceText = source.decode(ids.slice(0, n));
            expect(bridge.text).toBe(sourceText);
            if (!sourceText.endsWith('\uFFFD')) expect(target.decode(mirror)).toBe(sourceText);
            syncs++;
            if (mirror.join() === target.encode(sourceText, { addSpecialTokens: false }).join())
              equalToFull++;
          }
          expect(bridge.targetIds).toEqual(target.encode(text, { addSpecialTokens: false }));
        }
        // Every intermediate state, not only the last, is what encoding the whole text would give.
        expect(equalToFull).toBe(syncs);
      });

      it('re-tokenizes only a window: far less text encoded than re-encoding the whole context each step', () => {
        const source = makeSource();
        const target = makeTarget();
        const ids = source.encode(heldout.slice(0, 3000), { addSpecialTokens: false });
        const bridge = new CrossTokenizerBridge(source, target);
        let fullCost = 0;
        for (let n = 64; n <= ids.length; n += 3) {
          bridge.sync(ids.slice(0, n));
          fullCost += bridge.text.length;
        }
        expect(bridge.targetIds).toEqual(target.encode(bridge.text, { addSpecialTokens: false }));
        expect(bridge.stats.encodedChars).toBeLessThan(fullCost / 20);
        expect(bridge.stats.fullReencodes).toBeLessThanOrEqual(2);
      });

      it('property: random extend/rollback sequences keep target text equal to source text', () => {
        const source = makeSource();
        const target = makeTarget();
        const corpus = source.encode(texts.join(' '), { addSpecialTokens: false });
        expect(corpus.length).toBeGreaterThan(100);
        fc.assert(
          fc.property(
            fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 1, max: 6 })), {
              minLength: 1,
              maxLength: 25,
            }),
            fc.integer({ min: 0, max: corpus.length - 1 }),
            (steps, offset) => {
              const bridge = new CrossTokenizerBridge(source, target, { lookbehind: 4 });
              let current: number[] = [];
              let pos = offset;
              for (const [drop, add] of steps) {
                current = current.slice(0, Math.max(0, current.length - drop));
                pos = Math.max(offset, pos - drop);
                current = [
                  ...current,
                  ...corpus.slice(offset + current.length, offset + current.length + add),
                ];
                pos += add;
                bridge.sync(current);
                const sourceText = source.decode(current);
                if (!sourceText.includes('\uFFFD'))
                  expect(target.decode([...bridge.targetIds])).toBe(sourceText);
              }
            },
          ),
          { numRuns: 60 },
        );
      });
    });
  }

  it('drafts across vocabularies: draft tokens appended after a context map to target tokens', () => {
    const draft = spmFixture('spm-bpe');
    const target = hfFixture('bytelevel-bpe');
    const context = 'The quick brown fox';
    const continuation = ' jumps over the lazy dog.';
    const bridge = new CrossTokenizerBridge(draft, target);
    const ctxIds = draft.encode(context, { addSpecialTokens: false });
    bridge.sync(ctxIds);
    const before = [...bridge.targetIds];
    const drafted = draft.encode(context + continuation, { addSpecialTokens: false }).slice(ctxIds.length);
    const edit = bridge.sync([...ctxIds, ...drafted]);
    expect(edit.keep).toBeGreaterThanOrEqual(before.length - 1);
    expect(target.decode([...before.slice(0, edit.keep), ...edit.append])).toBe(context + continuation);
    // A rejected draft rolls back to the context.
    const back = bridge.sync(ctxIds);
    expect([...bridge.targetIds.slice(0, back.keep), ...back.append]).toEqual(before);
  });

  it('rejects a zero lookbehind', () => {
    expect(
      () => new CrossTokenizerBridge(spmFixture('spm-bpe'), tiktokenFixture(), { lookbehind: 0 }),
    ).toThrow(/at least 1 token/);
  });
});
