import { describe, expect, it } from 'vitest';
import { negativeLogLikelihood, scoringWindows } from './perplexity.js';

describe('scoringWindows', () => {
  it.each([
    [10, 4, 2],
    [10, 4, 4],
    [100, 16, 5],
    [7, 512, 256],
    [2, 2, 1],
  ])('scores every token after the first exactly once (n=%i, W=%i, S=%i)', (n, window, stride) => {
    const windows = scoringWindows(n, window, stride);
    const seen = new Array<number>(n).fill(0);
    for (const w of windows) {
      expect(w.start).toBeLessThan(w.first);
      expect(w.end - w.first).toBeLessThanOrEqual(window);
      expect(w.end - w.start).toBeLessThanOrEqual(stride === window ? window + 1 : window);
      for (let t = w.first; t < w.end; t++) seen[t]++;
    }
    expect(seen).toEqual([0, ...new Array<number>(n - 1).fill(1)]);
  });

  it('gives later windows at least W - S tokens of context', () => {
    const windows = scoringWindows(1000, 64, 16);
    expect(windows[0]).toEqual({ start: 0, first: 1, end: 64 });
    for (const w of windows.slice(1)) expect(w.first - w.start).toBeGreaterThanOrEqual(48);
  });

  it('rejects a stride outside 1..W', () => {
    expect(() => scoringWindows(10, 4, 5)).toThrow(/--stride/);
    expect(() => scoringWindows(10, 4, 0)).toThrow(/--stride/);
  });
});

describe('negativeLogLikelihood', () => {
  it('is -log softmax at the target, stable for large logits', () => {
    const logits = new Float32Array([1000, 1000, 1000, 1000]);
    expect(negativeLogLikelihood(logits, 0, 4, 2)).toBeCloseTo(Math.log(4), 10);
    const row = new Float32Array([0, 0, 2, 0]);
    const expected = -Math.log(Math.exp(2) / (3 + Math.exp(2)));
    expect(negativeLogLikelihood(new Float32Array([9, ...row]), 1, 4, 2)).toBeCloseTo(expected, 6);
  });
});
