import { describe, expect, it } from 'vitest';
import { DraftModelDrafter } from './draft-model-drafter.js';
import { DraftTree } from './draft-tree.js';
import { ToyLanguageModel } from './testing/toy-language-model.js';
import { topTokens } from './top-tokens.js';

const vocabSize = 16;

describe('DraftModelDrafter', () => {
  it('catches its state up on tokens accepted in rounds it was not asked, before drafting again', async () => {
    const model = new ToyLanguageModel({ vocabSize, hiddenSize: 8, seed: 5 });
    const drafter = new DraftModelDrafter({ model, maxDepth: 1, branching: 1 });
    await drafter.addSequences([{ sequenceId: 0, prompt: Int32Array.of(1, 2, 3) }]);
    // Two plain rounds (no proposal): roots 4 and 6 accepted, bonuses 6 and 9.
    for (const [root, bonus] of [
      [4, 6],
      [6, 9],
    ]) {
      const tree = new DraftTree(root);
      await drafter.observe([
        { sequenceId: 0, tree, logits: new Float32Array(vocabSize), vocabSize, path: [0], bonus },
      ]);
    }
    const context = [1, 2, 3, 4, 6, 9];
    const [tree] = await drafter.propose([{ sequenceId: 0, tokens: context, budget: 1, sampling: {} }]);
    // The draft is the model's own greedy choice after the whole context, so nothing was skipped.
    const state = model.newState();
    const [out] = await model.prefill([{ state, tokens: Int32Array.from(context) }]);
    expect(tree.tokens).toEqual([9, topTokens(out.logits, 0, vocabSize, 1)[0]]);
  });
});
