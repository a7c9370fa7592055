import { describe, expect, it } from 'vitest';
import { AcceptanceTracker, SpeculationSwitch } from './adaptive-speculation.js';

describe('AcceptanceTracker', () => {
  it('grows the tree while drafts are accepted and shrinks it while they miss', () => {
    const t = new AcceptanceTracker(0.5);
    const start = t.budget(4, 32);
    for (let i = 0; i < 10; i++) t.observe(6, 6);
    expect(t.budget(4, 32)).toBeGreaterThan(start);
    expect(t.budget(4, 32)).toBeLessThanOrEqual(32);
    for (let i = 0; i < 10; i++) t.observe(0, 6);
    expect(t.budget(4, 32)).toBe(4);
  });
});

describe('SpeculationSwitch', () => {
  it('turns speculation off when plain rounds are measured faster, and re-probes', () => {
    const s = new SpeculationSwitch(4, 1);
    const modes: boolean[] = [];
    for (let round = 0; round < 24; round++) {
      const speculate = s.nextRoundSpeculates();
      modes.push(speculate);
      // Speculation emits 1.5 tokens in 10 ms; plain 1 token in 4 ms.
      s.record(speculate, speculate ? 1.5 : 1, speculate ? 10 : 4);
    }
    expect(modes.slice(0, 3)).toEqual([true, true, true]);
    expect(modes[3]).toBe(false); // first probe of plain decoding
    const later = modes.slice(8);
    expect(later.filter((m) => !m).length).toBeGreaterThan(later.length / 2);
    expect(later.some((m) => m)).toBe(true); // speculation is still re-measured now and then
  });

  it('keeps speculating when it pays', () => {
    const s = new SpeculationSwitch(4, 1);
    let plainRounds = 0;
    for (let round = 0; round < 40; round++) {
      const speculate = s.nextRoundSpeculates();
      if (!speculate) plainRounds++;
      s.record(speculate, speculate ? 4 : 1, speculate ? 8 : 4);
    }
    expect(plainRounds).toBeLessThanOrEqual(10);
  });
});
