import { createNodeBackend } from '@densessm/backend-node';
import { float32, nonPortableOps, type Tensor } from '@densessm/tensor';
import { describe, expect, it } from 'vitest';
import {
  chainTree,
  conformanceSuite,
  maxAbsDiff,
  randomTokens,
  randomTree,
} from '../../test/helpers/conformance.js';
import { ConfigReader } from '../config.js';
import {
  createRng,
  folderReader,
  loadModel,
  modelFromCheckpoint,
  readCheckpoint,
  resolveConfig,
} from '../index.js';
import { randomWeights, writeCheckpoint } from '../testing.js';
import { ModelWeights } from '../weights.js';
import { parseMambaConfig } from './config.js';
import { buildCommitGraph, buildForwardGraph } from './graph.js';
import { forestLayout } from './layout.js';
import { prepareMambaWeights } from './prepared.js';
import { mambaInit, tinyDenseMambaConfig, tinyMambaConfig } from './test-kit.js';
import { mambaWeightSpecs } from './weights.js';

// Graph vs reference on backend-node and backend-web (wasm): prefill across chunk boundaries (chunk 16:
// lengths cross 16/32/64 and the power-of-two tails), trees up to 64 nodes / depth 8, a ragged batch of 4,
// commit of different paths, batched step, greedy generation.
conformanceSuite({
  label: 'mamba',
  config: tinyMambaConfig(),
  seed: 41,
  prefillLengths: [1, 2, 15, 16, 17, 40, 131, 300],
  greedyTokens: 200,
  runtime: { prefillChunk: 16 },
  init: mambaInit(),
});
conformanceSuite({
  label: 'mamba (biases, K=3)',
  config: tinyMambaConfig({ use_bias: true, conv_kernel: 3, num_hidden_layers: 2 }),
  seed: 42,
  prefillLengths: [1, 9, 64],
  greedyTokens: 40,
  runtime: { prefillChunk: 8 },
  // The default init (dt ~ 1.3, A ~ -1): strong per-token decay, the other regime from mambaInit's.
});
for (const [m, layers] of [
  [1, 3],
  [2, 3],
  [4, 6],
] as const) {
  conformanceSuite({
    label: `dense_mamba m=${m}`,
    config: tinyDenseMambaConfig(m, layers),
    seed: 50 + m,
    prefillLengths: [1, 33, 70],
    greedyTokens: 40,
    runtime: { prefillChunk: 32 },
    init: mambaInit(),
  });
}

const parse = (raw: Record<string, unknown>) => parseMambaConfig(new ConfigReader(raw, 'config.json'));

describe('mamba config', () => {
  it('reads a Hugging Face MambaForCausalLM config (mamba-130m-hf keys) and its defaults', () => {
    const c = parse({
      model_type: 'mamba',
      hidden_size: 768,
      intermediate_size: 1536,
      state_size: 16,
      time_step_rank: 48,
      conv_kernel: 4,
      num_hidden_layers: 24,
      vocab_size: 50280,
      layer_norm_epsilon: 1e-5,
      use_conv_bias: true,
      use_bias: false,
      expand: 2,
      hidden_act: 'silu',
      residual_in_fp32: true,
      time_step_scale: 1.0,
    });
    expect([
      c.intermediateSize,
      c.stateSize,
      c.timeStepRank,
      c.convKernel,
      c.useBias,
      c.tieWordEmbeddings,
    ]).toEqual([1536, 16, 48, 4, false, true]);
    const auto = parse({
      model_type: 'mamba',
      hidden_size: 40,
      num_hidden_layers: 1,
      vocab_size: 9,
      time_step_rank: 'auto',
    });
    expect([auto.intermediateSize, auto.timeStepRank, auto.useBias, auto.denseBlockLayers]).toEqual([
      80,
      3,
      true,
      0,
    ]);
  });

  it('names the key and what it must be', () => {
    const base = { model_type: 'dense_mamba', hidden_size: 32, num_hidden_layers: 2, vocab_size: 9 };
    expect(() => parse(base)).toThrow(/config.json: key 'dense_block_layers' must be an integer/);
    expect(() => parse({ ...base, dense_block_layers: 1, hidden_size: 16 })).toThrow(
      /needs hidden_size >= 32/,
    );
    expect(() => parse({ ...base, model_type: 'mamba', hidden_act: 'gelu' })).toThrow(
      /'hidden_act' must be "silu"/,
    );
    expect(() => parse({ ...base, model_type: 'mamba', conv_kernel: 1 })).toThrow(
      /'conv_kernel' must be an integer >= 2/,
    );
  });
});

/** Writes a checkpoint of `raw` with Mamba-style init, after `edit` (rename / drop / replace tensors). */
async function checkpointWith(
  raw: Record<string, unknown>,
  seed: number,
  edit: (t: Map<string, Tensor>) => void = () => {},
): Promise<string> {
  const tensors = randomWeights(raw, seed, mambaInit());
  edit(tensors);
  return writeCheckpoint(raw, tensors);
}

describe('mamba checkpoints', () => {
  const backend = createNodeBackend({ threads: 1 });
  const prompt = Int32Array.of(3, 1, 4, 1, 5, 9, 2, 6);

  it('accepts backbone.embedding.weight for backbone.embeddings.weight; lm_head.weight unties the head', async () => {
    // Untied config without lm_head.weight: tied (DESIGN.md section 3).
    const raw = tinyMambaConfig({ tie_word_embeddings: false });
    const canonical = await loadModel(await checkpointWith(raw, 5, (t) => t.delete('lm_head.weight')), {
      backend,
    });
    const aliased = await loadModel(
      await checkpointWith(raw, 5, (t) => {
        t.set('backbone.embedding.weight', t.get('backbone.embeddings.weight')!);
        t.delete('backbone.embeddings.weight');
        t.delete('lm_head.weight');
      }),
      { backend },
    );
    const untied = await loadModel(
      await checkpointWith(raw, 5, (t) => {
        const e = t.get('backbone.embeddings.weight')!;
        t.set(
          'lm_head.weight',
          float32(
            e.dims,
            (e.data as Float32Array).map((v) => v * 0.5),
          ),
        );
      }),
      { backend },
    );
    // tie_word_embeddings: true ties the head whatever the file holds (Hugging Face semantics).
    const tensors = randomWeights(raw, 5, mambaInit());
    const e = tensors.get('backbone.embeddings.weight')!;
    tensors.set(
      'lm_head.weight',
      float32(
        e.dims,
        (e.data as Float32Array).map((v) => v * 0.5),
      ),
    );
    const tiedByConfig = await loadModel(
      await writeCheckpoint({ ...raw, tie_word_embeddings: true }, tensors),
      {
        backend,
      },
    );
    const run = async (m: typeof canonical) =>
      (await m.prefill([{ state: m.newState(), tokens: prompt }]))[0].logits;
    const [a, b, c] = [await run(canonical), await run(aliased), await run(untied)];
    expect(maxAbsDiff(a, b)).toBe(0);
    expect(maxAbsDiff(a, await run(tiedByConfig))).toBe(0);
    // An lm_head of half the embedding halves the logits (the head is linear).
    expect(
      maxAbsDiff(
        c,
        a.map((v) => v * 0.5),
      ),
    ).toBeLessThanOrEqual(1e-5);
    await Promise.all([canonical, aliased, untied, tiedByConfig].map((m) => m.dispose()));
  });

  it('a missing tensor or a wrong shape names the tensor and the expected shape', async () => {
    const raw = tinyMambaConfig();
    const missing = await checkpointWith(raw, 6, (t) => t.delete('backbone.layers.1.mixer.A_log'));
    await expect(loadModel(missing, { backend })).rejects.toThrow(
      /tensor 'backbone.layers.1.mixer.A_log' of shape \[48, 8\] is missing/,
    );
    const wrong = await checkpointWith(raw, 6, (t) =>
      t.set('backbone.layers.2.mixer.x_proj.weight', float32([21, 48])),
    );
    await expect(loadModel(wrong, { backend })).rejects.toMatchObject({
      code: 'TENSOR_SHAPE',
      message: expect.stringMatching(
        /'backbone.layers.2.mixer.x_proj.weight' has shape \[21, 48\], expected \[20, 48\]/,
      ),
    });
    const dense = await checkpointWith(tinyDenseMambaConfig(2), 6, (t) =>
      t.delete('backbone.layers.2.mixer.x_norm.weight'),
    );
    await expect(loadModel(dense, { backend })).rejects.toThrow(
      /tensor 'backbone.layers.2.mixer.x_norm.weight' of shape \[48\] is missing/,
    );
  });

  it('dense_mamba with dense_block_layers = 0 is exactly mamba (same weights)', async () => {
    const tensors = randomWeights(tinyMambaConfig(), 8, mambaInit());
    const plain = await loadModel(await writeCheckpoint(tinyMambaConfig(), tensors), { backend });
    const dense = await loadModel(await writeCheckpoint(tinyDenseMambaConfig(0), tensors), { backend });
    const tree = randomTree(createRng(9), 12, 4, 61);
    for (const m of [plain, dense]) await m.prefill([{ state: m.newState(), tokens: prompt }]);
    const [sp, sd] = [plain.newState(), dense.newState()];
    const [pp] = await plain.prefill([{ state: sp, tokens: prompt }]);
    const [pd] = await dense.prefill([{ state: sd, tokens: prompt }]);
    expect(maxAbsDiff(pp.logits, pd.logits)).toBe(0);
    const [vp] = await plain.verify([{ state: sp, tree }]);
    const [vd] = await dense.verify([{ state: sd, tree }]);
    expect(maxAbsDiff(vp.logits, vd.logits)).toBe(0);
    await Promise.all([plain.dispose(), dense.dispose()]);
  });

  it('verify takes PaSS lookahead vectors (embeddingOverrides) and commit refuses their nodes', async () => {
    const raw = tinyMambaConfig();
    const tensors = randomWeights(raw, 12, mambaInit());
    const model = await loadModel(await writeCheckpoint(raw, tensors), { backend });
    const state = model.newState();
    await model.prefill([{ state, tokens: prompt }]);
    const embedding = tensors.get('backbone.embeddings.weight')!.data as Float32Array;
    const d = model.hiddenSize;
    const tree = { tokens: Int32Array.of(7, 8, 9), parents: Int32Array.of(-1, 0, 0) };
    // Node 2 carries token 30's embedding as its own vector (its token id 0 is then ignored).
    const overridden = {
      tokens: Int32Array.of(7, 8, 0),
      parents: tree.parents,
      embeddingOverrides: { nodes: Int32Array.of(2), vectors: embedding.slice(30 * d, 31 * d) },
    };
    const [plain] = await model.verify([{ state, tree: { ...tree, tokens: Int32Array.of(7, 8, 30) } }]);
    const [withVector] = await model.verify([{ state, tree: overridden }]);
    expect(maxAbsDiff(plain.logits, withVector.logits)).toBe(0);
    await expect(model.commit([{ state, verified: withVector, path: [0, 2] }])).rejects.toMatchObject({
      code: 'INVALID_PATH',
      message: expect.stringMatching(/node 2 is a lookahead node/),
    });
    await model.commit([{ state, verified: withVector, path: [0, 1] }]);
    expect(state.position).toBe(prompt.length + 2);
    await model.dispose();
  });

  it('states advanced in a batch (views into one output) continue alone exactly as batched', async () => {
    const raw = tinyMambaConfig();
    const model = await loadModel(await checkpointWith(raw, 13), { backend });
    const batch = [model.newState(), model.newState()];
    await model.prefill([
      { state: batch[0], tokens: prompt },
      { state: batch[1], tokens: prompt.subarray(0, 5) },
    ]);
    const copies = batch.map((s) => s.clone());
    const together = await model.step(copies.map((state) => ({ state, token: 4 })));
    for (const [b, state] of batch.entries()) {
      const [out] = await model.step([{ state, token: 4 }]);
      expect(maxAbsDiff(out.logits, together[b].logits)).toBeLessThanOrEqual(1e-6);
    }
    await model.dispose();
  });

  it('verify stays exact where the decay underflows (|A| cumulative dt far beyond the fp32 exp range)', async () => {
    // |A| = 200..1600 in layer 0 with dt up to 0.1: exp(dt A) reaches 0 in fp32 within a few tokens, the regime where
    // a factorised exp(A cumdt_i) * exp(-A cumdt_j) form would overflow.
    const raw = tinyMambaConfig({ num_hidden_layers: 2 });
    const dir = await checkpointWith(raw, 10, (t) => {
      const aLog = t.get('backbone.layers.0.mixer.A_log')!;
      t.set(
        'backbone.layers.0.mixer.A_log',
        float32(
          aLog.dims,
          Array.from({ length: aLog.data.length }, (_, i) => Math.log(200 * (1 + (i % 8)))),
        ),
      );
    });
    const checkpoint = await readCheckpoint(folderReader(dir), dir);
    const model = await modelFromCheckpoint(checkpoint, { backend });
    const { referenceFromCheckpoint } = await import('../index.js');
    const reference = referenceFromCheckpoint(checkpoint);
    const tree = chainTree(randomTokens(createRng(11), 8, 61));
    const [out] = await model.verify([{ state: model.newState(), tree }]);
    const state = reference.newState();
    tree.tokens.forEach((token, i) => {
      const expected = reference.feed(state, token).logits;
      const row = out.logits.subarray(i * 61, (i + 1) * 61);
      expect(Number.isFinite(row[0])).toBe(true);
      expect(maxAbsDiff(row, expected), `node ${i}`).toBeLessThanOrEqual(1e-4);
    });
    await model.dispose();
  });
});

describe('mamba graphs', () => {
  it('use only ops every backend runs (PORTABLE_OPS), in every mode', () => {
    const raw = tinyDenseMambaConfig(2);
    const { config } = resolveConfig(raw, 'config.json');
    const c = parseMambaConfig(new ConfigReader(raw, 'config.json'));
    expect(config.modelType).toBe('dense_mamba');
    const tensors = randomWeights(raw, 1);
    const weights = new ModelWeights(
      new Map(
        mambaWeightSpecs(c)
          .filter((s) => tensors.has(s.name))
          .map((s) => [s.name, tensors.get(s.name) as Tensor<'float32'>]),
      ),
    );
    const p = prepareMambaWeights(c, weights);
    const specs = [
      { levels: 1, step: true, uniform: true, newState: true, deltas: false, logits: 'all' },
      { levels: 3, step: false, uniform: true, newState: true, deltas: false, logits: 'last' },
      { levels: 3, step: false, uniform: false, newState: true, deltas: false, logits: 'last' },
      { levels: 4, step: false, uniform: false, newState: false, deltas: true, logits: 'all' },
    ] as const;
    for (const spec of specs)
      expect(nonPortableOps([...buildForwardGraph(p, spec, 'initializers').ops])).toEqual([]);
    for (const uniform of [true, false]) {
      expect(nonPortableOps([...buildCommitGraph(p, 3, uniform, 'inputs').ops])).toEqual([]);
    }
  });

  it('lays out a ragged forest by level, with conv windows falling back into the committed rows', () => {
    // Sequence 0: root 0 with children 1, 2; 1 -> 3.  Sequence 1: a single root.
    const layout = forestLayout(
      [
        { parents: Int32Array.of(-1, 0, 0, 1), lastNode: 3 },
        { parents: Int32Array.of(-1), lastNode: 0 },
      ],
      3,
    );
    expect(Array.from(layout.levelSizes, Number)).toEqual([2, 2, 1]);
    expect(Array.from(layout.rowOf[0])).toEqual([0, 2, 3, 4]);
    expect(Array.from(layout.rowOf[1])).toEqual([1]);
    // Roots point at their sequence; deeper nodes at their parent's row within the previous level.
    expect(Array.from(layout.parents, Number)).toEqual([0, 1, 0, 0, 0]);
    // Window table: 2 committed rows per sequence (4), then node rows. Node 3 of seq 0: [node 0, node 1, node 3].
    const windows = Array.from({ length: 5 }, (_, r) =>
      Array.from(layout.convIndex.subarray(r * 3, r * 3 + 3), Number),
    );
    expect(windows[0]).toEqual([0, 1, 4]); // seq 0 root: both committed rows, then itself
    expect(windows[1]).toEqual([2, 3, 5]); // seq 1 root
    expect(windows[2]).toEqual([1, 4, 6]); // seq 0 node 1: newest committed row, root, itself
    expect(windows[4]).toEqual([4, 6, 8]);
    // New conv rows after seq 0's node 3 are [node 1, node 3]; after seq 1's root, [its newest committed row, root].
    expect(Array.from(layout.convOutIndex, Number)).toEqual([6, 8, 3, 5]);
  });
});
