import { nonPortableOps } from '@densessm/tensor';
import { describe, expect, it } from 'vitest';
import { ConfigReader } from '../config.js';
import { ModelWeights } from '../weights.js';
import { denseRetNetWeightSpecs, parseDenseRetNetConfig } from './config.js';
import { buildCommitGraph, buildForwardGraph, RetNetGraphWeights } from './graphs.js';

describe('dense_retnet graphs', () => {
  const config = parseDenseRetNetConfig(
    new ConfigReader(
      {
        hidden_size: 64,
        query_key_dim: 32,
        num_attention_heads: 2,
        v_factor: 2,
        num_hidden_layers: 3,
        vocab_size: 50,
        dense_block_layers: 2,
      },
      'test',
    ),
  );
  const weights = new ModelWeights(
    new Map(
      denseRetNetWeightSpecs(config).map((s) => [
        s.name,
        {
          dtype: 'float32' as const,
          dims: s.shape,
          data: new Float32Array(s.shape.reduce((a, b) => a * b, 1)),
        },
      ]),
    ),
  );
  const gw = new RetNetGraphWeights(config, weights);

  it('use only ops every backend runs (PORTABLE_OPS, WebGPU included)', () => {
    for (const graph of [
      buildForwardGraph(gw, 'verify', 'initializers', false),
      buildForwardGraph(gw, 'advance', 'inputs', true),
      buildCommitGraph(config),
    ]) {
      expect(graph.ops.size).toBeGreaterThan(3);
      expect(nonPortableOps(graph.ops)).toEqual([]);
    }
  });

  it('weights as inputs are fed, as initializers are baked in', () => {
    const fed = buildForwardGraph(gw, 'verify', 'inputs', true);
    const baked = buildForwardGraph(gw, 'verify', 'initializers', true);
    expect(Object.keys(baked.weightFeeds)).toEqual([]);
    expect(Object.keys(fed.weightFeeds)).toContain('lm_head');
    expect(baked.bytes.length).toBeGreaterThan(fed.bytes.length + weights.byteSize / 2);
  });
});
