import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findStopString } from '../src/stop-strings.js';
import { TokenTextStream } from '../src/token-text-stream.js';
import { hfFixture, spmFixture } from './helpers.js';

describe('TokenTextStream', () => {
  it('stops at EOS by default and never shows it', () => {
    const tok = spmFixture('spm-bpe');
    const ids = [
      ...tok.encode('Hello world', { addSpecialTokens: false }),
      tok.eosTokenId!,
      ...tok.encode(' more'),
    ];
    const s = new TokenTextStream(tok);
    let shown = '';
    let last = s.push([]);
    for (const id of ids) {
      last = s.push(id);
      shown += last.text;
      if (last.done) break;
    }
    expect(shown).toBe('Hello world');
    expect(last).toMatchObject({ done: true, reason: 'stop_token', stop: tok.eosTokenId });
    expect(s.push(5)).toMatchObject({ text: '', done: true });
  });

  it('property: streamed text equals the one-shot cut at stop token then stop string, for any grouping', () => {
    const tok = hfFixture('bytelevel-bpe');
    const imEnd = tok.tokenToId('<|im_end|>')!;
    const words = ['Hello', ' world', '\n', 'User', ':', ' 日本', '😀', ' END', 'ab', ' '];
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...words), { maxLength: 15 }),
        fc.integer({ min: -1, max: 30 }),
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 6 }),
        fc.subarray(['\nUser:', 'END', 'b ', '😀 '], { minLength: 0 }),
        (parts, stopPos, groups, stopStrings) => {
          const ids = tok.encode(parts.join(''), { addSpecialTokens: false });
          if (stopPos >= 0 && stopPos <= ids.length) ids.splice(stopPos, 0, imEnd);
          const s = new TokenTextStream(tok, { stopStrings, stopTokenIds: [imEnd] });
          let shown = '';
          let done = false;
          for (let i = 0, g = 0; i < ids.length && !done; g++) {
            const n = groups[g % groups.length];
            const r = s.push(ids.slice(i, i + n));
            shown += r.text;
            done = r.done;
            i += n;
          }
          if (!done) shown += s.flush();
          const cutIds = ids.includes(imEnd) ? ids.slice(0, ids.indexOf(imEnd)) : ids;
          const full = tok.decode(cutIds, { skipSpecialTokens: true });
          const hit = findStopString(full, stopStrings);
          expect(shown).toBe(hit ? full.slice(0, hit.index) : full);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('rejects stop token ids outside the vocabulary', () => {
    expect(() => new TokenTextStream(spmFixture('spm-bpe'), { stopTokenIds: [1e9] })).toThrow(
      /stop token ids/,
    );
  });
});
