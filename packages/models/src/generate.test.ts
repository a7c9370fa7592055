import { describe, expect, it } from 'vitest';
import { argmax, createRng, sampleToken, samplingDistribution } from './generate.js';

describe('sampling', () => {
  it('the PRNG repeats per seed and differs across seeds, uniform in [0, 1)', () => {
    const a = createRng(7);
    const b = createRng(7);
    const c = createRng(8);
    const xs = Array.from({ length: 10_000 }, () => a());
    expect(Array.from({ length: 10_000 }, () => b())).toEqual(xs);
    expect(c()).not.toBe(xs[0]);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(Math.abs(xs.reduce((s, x) => s + x, 0) / xs.length - 0.5)).toBeLessThan(0.01);
  });

  it('temperature, top-k and top-p shape the distribution as specified', () => {
    const logits = [2, 1, 0, -1];
    const full = samplingDistribution(logits);
    const z = logits.reduce((s, l) => s + Math.exp(l), 0);
    logits.forEach((l, i) => {
      expect(full[i]).toBeCloseTo(Math.exp(l) / z, 12);
    });
    const hot = samplingDistribution(logits, { temperature: 2 });
    expect(hot[0] / hot[1]).toBeCloseTo(Math.exp(0.5), 12);
    const top2 = samplingDistribution(logits, { topK: 2 });
    expect(top2[2] + top2[3]).toBe(0);
    expect(top2[0]).toBeCloseTo(Math.exp(2) / (Math.exp(2) + Math.exp(1)), 12);
    // p(0) = 0.644, p(0) + p(1) = 0.881: top-p 0.7 keeps two tokens, 0.6 keeps one.
    expect(Array.from(samplingDistribution(logits, { topP: 0.7 })).filter((p) => p > 0).length).toBe(2);
    expect(Array.from(samplingDistribution(logits, { topP: 0.6 }))).toEqual([1, 0, 0, 0]);
    expect(() => samplingDistribution(logits, { topP: 0 })).toThrow(/topP/);
  });

  it('sampleToken draws with the distribution frequencies and temperature 0 is argmax', () => {
    const logits = [0.5, 2, -1, 1];
    const probs = samplingDistribution(logits);
    const rng = createRng(1);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 20_000; i++) counts[sampleToken(logits, {}, rng)]++;
    counts.forEach((c, i) => {
      expect(Math.abs(c / 20_000 - probs[i])).toBeLessThan(0.015);
    });
    expect(sampleToken(logits, { temperature: 0 }, rng)).toBe(argmax(logits));
    expect(argmax([1, 3, 3])).toBe(1);
  });
});
