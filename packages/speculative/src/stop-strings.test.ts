import { describe, expect, it } from 'vitest';
import { StopStringMatcher } from './stop-strings.js';

const letters = { decode: (ids: readonly number[]) => ids.map((t) => String.fromCharCode(97 + t)).join('') };
const pairs = { decode: (ids: readonly number[]) => ids.map((t) => `${t}|`).join('') };

function feed(matcher: StopStringMatcher, tokens: number[]): string {
  let text = '';
  for (const t of tokens) for (const out of matcher.push(t)) text += out.text;
  return text;
}

describe('StopStringMatcher', () => {
  it('holds back a possible stop prefix and releases it when it turns out not to be one', () => {
    const m = new StopStringMatcher(letters, ['cde']);
    expect(m.push(0)).toEqual([{ token: 0, text: 'a' }]);
    expect(m.push(2)).toEqual([]); // 'c' may start 'cde'
    expect(m.push(3)).toEqual([]); // 'cd' too
    expect(m.push(5)).toEqual([
      { token: 2, text: 'c' },
      { token: 3, text: 'd' },
      { token: 5, text: 'f' },
    ]);
    expect(m.stopped).toBe(false);
  });

  it('stops at a stop string spanning tokens and emits only the text before it', () => {
    const m = new StopStringMatcher(pairs, ['2|3']);
    const text = feed(m, [1, 2, 3, 4]);
    expect(text).toBe('1|');
    expect(m.stopped).toBe(true);
    expect(m.visibleText).toBe('1|');
    // Token 2 contributed only '2|'... its '2' starts the stop string, so it is not visible at all.
    expect(m.visibleTokens).toEqual([1]);
  });

  it('keeps the visible part of a token that straddles the stop string', () => {
    const m = new StopStringMatcher(pairs, ['|3']);
    expect(feed(m, [1, 2, 3])).toBe('1|2');
    expect(m.visibleTokens).toEqual([1, 2]);
  });

  it('flush releases held-back text when the sequence ends for another reason', () => {
    const m = new StopStringMatcher(letters, ['xyz']);
    expect(feed(m, [0, 23])).toBe('a');
    expect(m.flush()).toEqual([{ token: 23, text: 'x' }]);
  });

  it('streams tokens without text when there is no decoder', () => {
    const m = new StopStringMatcher(undefined);
    expect(m.push(4)).toEqual([{ token: 4, text: '' }]);
  });

  it('holds back a character split over byte tokens until it is complete (streamed text == final text)', () => {
    const utf8 = new TextDecoder();
    const bytes = { decode: (ids: readonly number[]) => utf8.decode(Uint8Array.from(ids)) };
    const m = new StopStringMatcher(bytes, []);
    const e = [...new TextEncoder().encode('é!')];
    expect(m.push(e[0])).toEqual([]);
    // The character is released once complete (attributed to the first token that reached its length).
    expect(m.push(e[1])).toEqual([
      { token: e[0], text: 'é' },
      { token: e[1], text: '' },
    ]);
    expect(m.push(e[2])).toEqual([{ token: e[2], text: '!' }]);
    expect(m.push(0xe2)).toEqual([]);
    expect(m.flush()).toEqual([{ token: 0xe2, text: '\uFFFD' }]);
    expect(m.visibleText).toBe('é!\uFFFD');
  });
});
