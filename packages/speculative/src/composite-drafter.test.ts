import { describe, expect, it } from 'vitest';
import { mergeTrees } from './composite-drafter.js';
import { DraftTree } from './draft-tree.js';

describe('mergeTrees', () => {
  it('shares identical deterministic nodes, keeps the best-scored nodes within budget', () => {
    const a = new DraftTree(1);
    const a1 = a.addChild(0, 5, { score: 0.9 });
    a.addChild(a1, 6, { score: 0.8 });
    const b = new DraftTree(1);
    const b1 = b.addChild(0, 5, { score: 0.5 });
    b.addChild(b1, 7, { score: 0.4 });
    b.addChild(0, 9, { score: 0.1 });
    const merged = mergeTrees([a, b], 3);
    expect(merged.size - 1).toBe(3);
    expect(merged.tokenChildren(0).map((c) => merged.tokens[c])).toEqual([5]);
    const five = merged.tokenChildren(0)[0];
    expect(merged.sources[five]).toBe(0b11);
    expect(merged.tokenChildren(five).map((c) => merged.tokens[c])).toEqual([6, 7]);
  });

  it('never merges sampled nodes and keeps a without-replacement group in draw order', () => {
    const q = Float64Array.from([0.1, 0.2, 0.3, 0.4]);
    const sampled = new DraftTree(0);
    // Drawn in this order; the second has the higher score but must not overtake the first.
    sampled.addChild(0, 1, {
      score: 0.2,
      priority: 0.5,
      proposal: { distribution: q, withoutReplacement: true },
    });
    sampled.addChild(0, 3, {
      score: 0.4,
      priority: 0.3,
      proposal: { distribution: q, withoutReplacement: true },
    });
    const fixed = new DraftTree(0);
    fixed.addChild(0, 1, { score: 0.45 });
    const merged = mergeTrees([sampled, fixed], 8);
    const children = merged.tokenChildren(0);
    expect(children.map((c) => merged.tokens[c])).toEqual([1, 1, 3]);
    expect(children.map((c) => merged.proposals[c] !== undefined)).toEqual([true, false, true]);
    // A sampled node keeps its draw-independent priority (its score depends on the draw): whatever later
    // ranks or cuts the merged tree must not look at the draw.
    expect(children.map((c) => merged.priorities[c])).toEqual([0.5, 0.45, 0.3]);
  });
});
