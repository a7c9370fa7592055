import { describe, expect, it } from 'vitest';
import { DraftTree } from './draft-tree.js';
import { TokenRecyclingDrafter } from './token-recycling-drafter.js';
import { buildTreeTemplate } from './tree-template.js';

const V = 10;

function logitsRow(ranking: number[]): Float32Array {
  const row = new Float32Array(V).fill(-10);
  ranking.forEach((token, r) => {
    row[token] = 10 - r;
  });
  return row;
}

describe('TokenRecyclingDrafter', () => {
  it('overwrites every verified node row with its top-k and drafts the template from the matrix', () => {
    const drafter = new TokenRecyclingDrafter({
      vocabSize: V,
      successors: 2,
      template: buildTreeTemplate({ nodes: 6, maxDepth: 3, rankPriors: [0.6, 0.3] }),
    });
    expect(drafter.propose([{ sequenceId: 0, tokens: [1], budget: 6, sampling: {} }])[0].size).toBe(1);
    const tree = new DraftTree(1);
    tree.addChild(0, 2);
    const logits = new Float32Array(2 * V);
    logits.set(logitsRow([2, 3]), 0);
    logits.set(logitsRow([4, 5]), V);
    drafter.observe([{ sequenceId: 0, tree, logits, vocabSize: V, path: [0, 1], bonus: 4 }]);
    expect(Array.from(drafter.successorsOf(1))).toEqual([2, 3]);
    expect(Array.from(drafter.successorsOf(2))).toEqual([4, 5]);
    const [draft] = drafter.propose([{ sequenceId: 7, tokens: [9, 1], budget: 6, sampling: {} }]);
    // Depth 1: successors of 1 = 2, 3; depth 2 below 2: 4, 5 (token 3 and 4 have no row yet).
    expect(draft.tokenChildren(0).map((c) => draft.tokens[c])).toEqual([2, 3]);
    const below2 = draft.tokenChildren(draft.tokenChildren(0)[0]).map((c) => draft.tokens[c]);
    expect(below2).toEqual([4, 5]);
    expect(draft.size - 1).toBeLessThanOrEqual(6);
    expect(drafter.byteSize).toBe(V * 2 * 4);
  });
});

describe('buildTreeTemplate', () => {
  it('keeps the most likely paths, breadth first, parents before children', () => {
    const t = buildTreeTemplate({ nodes: 5, maxDepth: 3, rankPriors: [0.6, 0.3] });
    expect(Array.from(t.parents)).toEqual([-1, 0, 0, 1, 1, 3]);
    expect(Array.from(t.ranks)).toEqual([0, 0, 1, 0, 1, 0]);
    expect(Array.from(t.depths)).toEqual([0, 1, 1, 2, 2, 3]);
    t.parents.forEach((p, i) => {
      expect(p).toBeLessThan(i);
    });
    // Every prefix of the score order is a subtree: a node's parent always comes before it.
    const seen = new Set<number>();
    for (const node of t.byScore) {
      if (node > 0) expect(seen.has(t.parents[node])).toBe(true);
      seen.add(node);
    }
    expect(t.byScore[0]).toBe(0);
  });
});
