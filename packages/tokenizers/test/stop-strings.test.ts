import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findStopString, StopStringMatcher } from '../src/stop-strings.js';

function runStream(stops: string[], chunks: string[]) {
  const m = new StopStringMatcher(stops);
  let out = '';
  let stop: string | undefined;
  const emitted: string[] = [];
  for (const c of chunks) {
    const r = m.push(c);
    emitted.push(r.text);
    out += r.text;
    if (r.stop !== undefined) {
      stop = r.stop;
      break;
    }
  }
  if (stop === undefined) out += m.flush();
  return { out, stop, emitted };
}

describe('StopStringMatcher', () => {
  it('cuts at the first stop string and holds back possible starts', () => {
    const m = new StopStringMatcher(['\nUser:', '</s>']);
    expect(m.push('Hello')).toEqual({ text: 'Hello', stop: undefined });
    expect(m.push(' there\nUs')).toEqual({ text: ' there', stop: undefined });
    expect(m.push('ually fine</')).toEqual({ text: '\nUsually fine', stop: undefined });
    expect(m.push('s> tail')).toEqual({ text: '', stop: '</s>' });
    expect(m.stopped).toBe(true);
    expect(m.push('more')).toEqual({ text: '', stop: '</s>' });
    expect(m.flush()).toBe('');
  });

  it('releases held text at the end when no stop string completed', () => {
    const m = new StopStringMatcher(['STOP']);
    expect(m.push('go ST').text).toBe('go ');
    expect(m.flush()).toBe('ST');
  });

  it('picks the stop that completes first, cutting where it starts', () => {
    expect(findStopString('xabcd', ['abcd', 'bc'])).toEqual({ index: 2, stop: 'bc' });
    expect(findStopString('xab', ['ab', 'xab'])).toEqual({ index: 0, stop: 'xab' });
    expect(findStopString('none here', ['zz'])).toBeUndefined();
  });

  it('rejects empty or non-string stop strings', () => {
    expect(() => new StopStringMatcher([''])).toThrow(/non-empty strings/);
    expect(() => new StopStringMatcher([1 as never])).toThrow(/non-empty strings/);
  });

  it('property: however the text is chunked, output equals the one-shot cut and never shows a stop string', () => {
    const alphabet = fc.constantFrom('a', 'b', ' ', '\n', 'é', '😀');
    const str = (min: number, max: number) =>
      fc.array(alphabet, { minLength: min, maxLength: max }).map((a) => a.join(''));
    fc.assert(
      fc.property(
        str(0, 40),
        fc.array(str(1, 4), { minLength: 1, maxLength: 3 }),
        fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 20 }),
        (text, stops, cuts) => {
          const chunks: string[] = [];
          let i = 0;
          for (const c of cuts) {
            chunks.push(text.slice(i, i + c));
            i += c;
          }
          chunks.push(text.slice(i));
          const offline = findStopString(text, stops);
          const { out, stop, emitted } = runStream(stops, chunks);
          expect(out).toBe(offline ? text.slice(0, offline.index) : text);
          expect(stop).toBe(offline?.stop);
          for (const s of stops) expect(out.includes(s)).toBe(false);
          // No chunk boundary leaks a partial stop: everything emitted is a prefix of the final output.
          expect(out.startsWith(emitted.join(''))).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});
