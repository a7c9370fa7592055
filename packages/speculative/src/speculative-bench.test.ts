import { describe, expect, it } from 'vitest';
import { PromptLookupDrafter } from './prompt-lookup-drafter.js';
import { runSpeculativeBench } from './speculative-bench.js';
import { ToyLanguageModel } from './testing/toy-language-model.js';

describe('runSpeculativeBench', () => {
  it('reports plain and each drafter per set and batch size, with identical-output checks', async () => {
    const model = new ToyLanguageModel({ vocabSize: 32, hiddenSize: 8, seed: 2 });
    const rows = await runSpeculativeBench({
      model,
      promptSets: [{ name: 'loop', prompts: [[1, 2, 3, 1, 2, 3, 1, 2]] }],
      drafters: { lookup: () => new PromptLookupDrafter() },
      batchSizes: [1, 2],
      runs: 3,
      maxTokens: 24,
    });
    expect(rows.map((r) => `${r.drafter}/${r.batchSize}`)).toEqual([
      'plain/1',
      'lookup/1',
      'plain/2',
      'lookup/2',
    ]);
    for (const row of rows) {
      expect(row.runsTokensPerSecond).toHaveLength(3);
      expect(row.identicalToPlain).toBe(true);
      expect(row.tokensPerSecond).toBeGreaterThan(0);
    }
    expect(rows[0].meanAcceptedLength).toBe(1);
    expect(rows[0].speedup).toBe(1);
  });

  it('feeds every prompt once per run, batch by batch, with a fresh drafter per run', async () => {
    const model = new ToyLanguageModel({ vocabSize: 32, hiddenSize: 8, seed: 3 });
    let made = 0;
    const rows = await runSpeculativeBench({
      model,
      promptSets: [{ name: 'three', prompts: [[1, 2, 3], [4, 5], [6]] }],
      drafters: {
        lookup: () => {
          made++;
          return new PromptLookupDrafter();
        },
      },
      batchSizes: [1, 2],
      runs: 2,
      maxTokens: 8,
    });
    expect(rows.map((r) => r.sequencesPerRun)).toEqual([3, 3, 4, 4]);
    expect(made).toBe(2 * 3); // (warm-up + 2 runs) per batch size
  });
});
