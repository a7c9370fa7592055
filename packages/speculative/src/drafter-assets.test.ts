import { describe, expect, it } from 'vitest';
import { autoDrafter, lookaheadFromTensors, medusaHeadsFromTensors } from './drafter-assets.js';
import { SpeculativeError } from './errors.js';
import { ToyLanguageModel } from './testing/toy-language-model.js';

const target = new ToyLanguageModel({ vocabSize: 16, hiddenSize: 4, seed: 1 });
const withHead = Object.assign(target, { lmHeadWeights: () => target.lmHead });

describe('drafter assets', () => {
  it('builds Medusa heads and lookahead drafters from safetensors-shaped maps', () => {
    const heads = new Map([
      ['medusa_heads.0.weight', { dims: [4, 4], data: new Float32Array(16) }],
      ['medusa_heads.0.bias', { dims: [4], data: new Float32Array(4) }],
    ]);
    expect(medusaHeadsFromTensors(withHead, heads).name).toBe('medusa-heads');
    const lookahead = new Map([['lookahead.embeddings', { dims: [2, 4], data: new Float32Array(8) }]]);
    expect(lookaheadFromTensors(target, lookahead).name).toBe('pass-lookahead');
    expect(autoDrafter({ target: withHead }).name).toBe('composite(prompt-lookup+token-recycling)');
  });

  it('says which tensor is wrong', () => {
    const bad = new Map([
      ['medusa_heads.0.weight', { dims: [4, 3], data: new Float32Array(12) }],
      ['medusa_heads.0.bias', { dims: [4], data: new Float32Array(4) }],
    ]);
    expect(() => medusaHeadsFromTensors(withHead, bad)).toThrow(
      /medusa_heads\.0\.weight is \[4, 3\], expected \[4, 4\]/,
    );
    expect(() => lookaheadFromTensors(target, new Map())).toThrow(SpeculativeError);
  });
});
