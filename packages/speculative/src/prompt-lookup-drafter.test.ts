import { describe, expect, it } from 'vitest';
import { PromptLookupDrafter } from './prompt-lookup-drafter.js';

const request = (tokens: number[], budget: number) => ({ sequenceId: 1, tokens, budget, sampling: {} });

describe('PromptLookupDrafter', () => {
  it('copies the continuation of the longest earlier match, as far as the budget allows', () => {
    // "5 6 7 8 9 10 11" occurred; the context now ends with "... 6 7": draft 8 9 10 11 ...
    const context = [1, 5, 6, 7, 8, 9, 10, 11, 2, 3, 4, 6, 7];
    const [tree] = new PromptLookupDrafter({ maxBranches: 1 }).propose([request(context, 4)]);
    expect(tree.root).toBe(7);
    expect(tree.pathTokens(tree.size - 1)).toEqual([7, 8, 9, 10, 11]);
  });

  it('copies from an earlier turn of a multi-turn prompt (CopySpec)', () => {
    const answer = [40, 41, 42, 43, 44, 45, 46, 47];
    const context = [1, 2, ...answer, 3, 4, 40, 41];
    const [tree] = new PromptLookupDrafter().propose([request(context, 16)]);
    expect(tree.pathTokens(tree.tokenChildren(0).length > 0 ? deepest(tree) : 0)).toEqual([
      41, 42, 43, 44, 45, 46, 47, 3, 4, 40, 41,
    ]);
  });

  it('drafts different continuations of the same suffix as sibling branches, longest match first', () => {
    const context = [9, 1, 2, 3, 8, 1, 2, 4, 1, 2];
    const [tree] = new PromptLookupDrafter({ maxBranches: 3 }).propose([request(context, 6)]);
    const first = tree.tokenChildren(0).map((c) => tree.tokens[c]);
    expect(new Set(first)).toEqual(new Set([3, 4]));
    expect(tree.size - 1).toBeLessThanOrEqual(6);
  });

  it('proposes nothing without a match and stays within budget', () => {
    const drafter = new PromptLookupDrafter();
    expect(drafter.propose([request([1, 2, 3, 4], 8)])[0].size).toBe(1);
    expect(drafter.propose([request([1, 2, 1, 2, 1, 2, 1, 2], 0)])[0].size).toBe(1);
  });
});

function deepest(tree: { size: number; depths: number[] }): number {
  let best = 0;
  for (let n = 0; n < tree.size; n++) if (tree.depths[n] > tree.depths[best]) best = n;
  return best;
}
