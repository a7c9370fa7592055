import { describe, expect, it } from 'vitest';
import { meanAcceptedLength } from '../src/index.js';
import { collect, drafterFactories, prompts, toyTarget } from './fixtures.js';

describe('greedy speculative decoding equals plain greedy decoding', () => {
  const target = toyTarget();
  const drafters = drafterFactories(target);
  for (const batchSize of [1, 3, 8]) {
    for (const [name, make] of Object.entries(drafters)) {
      it(`${name}, batch ${batchSize}`, async () => {
        const inputs = prompts(batchSize);
        const plain = await collect(target, inputs, { maxTokens: 40 });
        const spec = await collect(target, inputs, {
          maxTokens: 40,
          drafter: make(),
          adaptive: { measureCost: false, nodeCost: 0.01 },
        });
        expect(spec.tokens).toEqual(plain.tokens);
        expect(plain.tokens.every((t) => t.length === 40)).toBe(true);
        console.log(
          name,
          batchSize,
          meanAcceptedLength(spec.metrics).toFixed(2),
          spec.metrics.targetPasses,
          plain.metrics.targetPasses,
        );
      });
    }
  }
});
