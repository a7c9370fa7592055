import { readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createNodeBackend } from '@densessm/backend-node';
import { float32, float32ToBfloat16Array, float32ToFloat16Array, type Tensor } from '@densessm/tensor';
import { readSafetensorsFile, writeSafetensorsFile } from '@densessm/tensor/node';
import { describe, expect, it } from 'vitest';
import {
  createRng,
  folderReader,
  type LanguageModel,
  loadModel,
  type ModelError,
  readCheckpoint,
  referenceFromCheckpoint,
  supportedModelTypes,
} from '../src/index.js';
import { randomCheckpoint, randomWeights, writeCheckpoint } from '../src/testing.js';
import { tinyRetNetConfig } from './helpers/configs.js';
import { feedAll, maxAbsDiff, randomTokens } from './helpers/conformance.js';

const backend = createNodeBackend({ threads: 1 });

async function rejection(promise: Promise<unknown>): Promise<ModelError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'expected a rejection').toBeInstanceOf(Error);
  return error as ModelError;
}

describe('loadModel: config and weights', () => {
  it('m = 0 writes and needs no select/norm tensors; m = 2 needs them from layer 1 on', async () => {
    const plain = await randomCheckpoint(tinyRetNetConfig(0, 3), 1);
    const names = [...(await readSafetensorsFile(join(plain, 'model.safetensors'))).keys()];
    expect(names.filter((n) => /select|k_norm|v_norm/.test(n))).toEqual([]);
    expect(names).toContain('model.layers.2.self_attn.group_norm.weight');
    const model = await loadModel(plain, { backend });
    expect(model.modelType).toBe('dense_retnet');
    await model.dispose();

    const dense = [...randomWeights(tinyRetNetConfig(2, 3), 1).keys()];
    expect(dense.filter((n) => n.includes('layers.0.') && /select|k_norm|v_norm/.test(n))).toEqual([]);
    expect(dense).toContain('model.layers.1.self_attn.k_select.fc1.weight');
    expect(dense).toContain('model.layers.2.self_attn.v_norm.weight');
  });

  it('accepts released DenseSSM configs (model_type "llama" with query_key_dim and v_factor) and ignores layer-0 select tensors', async () => {
    const { model_type: _, ...rest } = tinyRetNetConfig(2, 3);
    const config = { ...rest, model_type: 'llama', architectures: ['LlamaForCausalLM'] };
    const tensors = randomWeights(tinyRetNetConfig(2, 3), 2);
    tensors.set('model.layers.0.self_attn.k_select.fc1.weight', float32([2, 64]));
    const dir = await writeCheckpoint(config, tensors);
    const model = await loadModel(dir, { backend });
    expect(model.modelType).toBe('dense_retnet');
    await model.dispose();
  });

  it('unknown model_type fails listing the supported ones', async () => {
    const dir = await randomCheckpoint(tinyRetNetConfig(0, 1), 3);
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({ ...tinyRetNetConfig(0, 1), model_type: 'gpt2' }),
    );
    const error = await rejection(loadModel(dir, { backend }));
    expect(error.code).toBe('UNKNOWN_MODEL_TYPE');
    expect(error.message).toContain('"gpt2"');
    expect(error.message).toContain(join(dir, 'config.json'));
    for (const type of supportedModelTypes()) expect(error.message).toContain(type);
  });

  it('invalid config values fail naming the key', async () => {
    const dir = await randomCheckpoint(tinyRetNetConfig(0, 1), 4);
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({ ...tinyRetNetConfig(0, 1), num_attention_heads: 3 }),
    );
    const error = await rejection(loadModel(dir, { backend }));
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message).toContain("'num_attention_heads'");
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({ ...tinyRetNetConfig(0, 1), hidden_size: '64' }),
    );
    expect((await rejection(loadModel(dir, { backend }))).message).toContain(
      "key 'hidden_size' must be an integer",
    );
  });

  it('a missing tensor fails naming it, its shape and the folder', async () => {
    const tensors = randomWeights(tinyRetNetConfig(2, 2), 5);
    tensors.delete('model.layers.1.self_attn.v_select.fc2.weight');
    const dir = await writeCheckpoint(tinyRetNetConfig(2, 2), tensors);
    const error = await rejection(loadModel(dir, { backend }));
    expect(error.code).toBe('MISSING_TENSOR');
    expect(error.message).toContain("'model.layers.1.self_attn.v_select.fc2.weight'");
    expect(error.message).toContain('[128, 2]');
    expect(error.message).toContain(dir);
  });

  it('a wrong shape fails naming the tensor, expected and actual shape and the file (sharded too)', async () => {
    const tensors = randomWeights(tinyRetNetConfig(0, 2), 6);
    tensors.set('model.layers.1.self_attn.q_proj.weight', float32([16, 64]));
    const dir = await writeCheckpoint(tinyRetNetConfig(0, 2), tensors);
    const error = await rejection(loadModel(dir, { backend }));
    expect(error.code).toBe('TENSOR_SHAPE');
    expect(error.message).toContain(
      "'model.layers.1.self_attn.q_proj.weight' has shape [16, 64], expected [32, 64]",
    );
    expect(error.message).toContain(join(dir, 'model.safetensors'));

    // The same checkpoint split into two shards with an index: the error names the shard.
    const names = [...tensors.keys()];
    const shard = (i: number) => `model-0000${i + 1}-of-00002.safetensors`;
    const weightMap: Record<string, string> = {};
    for (const [i, part] of [names.slice(0, 9), names.slice(9)].entries()) {
      await writeSafetensorsFile(join(dir, shard(i)), new Map(part.map((n) => [n, tensors.get(n)!])));
      for (const n of part) weightMap[n] = shard(i);
    }
    await writeFile(
      join(dir, 'model.safetensors.index.json'),
      JSON.stringify({ metadata: {}, weight_map: weightMap }),
    );
    const sharded = await rejection(loadModel(dir, { backend }));
    expect(sharded.message).toContain(join(dir, weightMap['model.layers.1.self_attn.q_proj.weight']));
  });

  it('a truncated safetensors file fails naming the file', async () => {
    const dir = await randomCheckpoint(tinyRetNetConfig(0, 1), 7);
    const file = join(dir, 'model.safetensors');
    await truncate(file, (await readFile(file)).length - 100);
    const error = await rejection(loadModel(dir, { backend }));
    expect(error.message).toContain(file);
  });

  it('a folder without config.json fails naming the file', async () => {
    const error = await rejection(loadModel('/nonexistent/model', { backend }));
    expect(error.code).toBe('INVALID_FILE');
    expect(error.message).toContain('/nonexistent/model/config.json');
  });

  it.each([
    ['float16', float32ToFloat16Array],
    ['bfloat16', float32ToBfloat16Array],
  ] as const)(
    '%s weights are upcast to fp32 and give the fp32 logits of the rounded weights',
    async (_, round) => {
      const config = tinyRetNetConfig(2, 2);
      const fp32 = randomWeights(config, 8);
      const dtype = round === float32ToFloat16Array ? 'F16' : 'BF16';
      const half = new Map(
        [...fp32].map(([n, t]) => [n, { dtype, dims: t.dims, data: round(t.data as Float32Array) } as const]),
      );
      const dir = await writeCheckpoint(config, half as unknown as Map<string, Tensor>);
      const checkpoint = await readCheckpoint(folderReader(dir), dir);
      expect([...checkpoint.tensors.values()].every((t) => t.dtype === 'float32')).toBe(true);
      const model = await loadModel(dir, { backend });
      const tokens = randomTokens(createRng(9), 20, 97);
      const [out] = await model.prefill([{ state: model.newState(), tokens }]);
      const reference = referenceFromCheckpoint(checkpoint);
      expect(maxAbsDiff(out.logits, feedAll(reference, reference.newState(), tokens))).toBeLessThanOrEqual(
        1e-4,
      );
      await model.dispose();
    },
  );
});

describe('LanguageModel input checks', () => {
  let model: LanguageModel;
  let dir: string;
  const ready = (async () => {
    dir = await randomCheckpoint(tinyRetNetConfig(1, 2), 10);
    model = await loadModel(dir, { backend });
  })();

  it('token ids >= vocab size (or negative) fail naming the call and index', async () => {
    await ready;
    const state = model.newState();
    const bad = await rejection(model.prefill([{ state, tokens: Int32Array.of(1, 2, 97) }]));
    expect(bad.code).toBe('TOKEN_OUT_OF_RANGE');
    expect(bad.message).toContain('token id 97 at index 2');
    expect(bad.message).toContain('[0, 97)');
    expect((await rejection(model.step([{ state, token: -1 }]))).code).toBe('TOKEN_OUT_OF_RANGE');
    const tree = { tokens: Int32Array.of(5, 500), parents: Int32Array.of(-1, 0) };
    expect((await rejection(model.verify([{ state, tree }]))).message).toContain('tree node 1');
    expect(state.position).toBe(0);
  });

  it('bad trees, bad paths, stale verify outputs and foreign states are refused without touching the state', async () => {
    await ready;
    const state = model.newState();
    await model.prefill([{ state, tokens: Int32Array.of(1, 2, 3) }]);
    const badTree = { tokens: Int32Array.of(1, 2), parents: Int32Array.of(-1, 1) };
    expect((await rejection(model.verify([{ state, tree: badTree }]))).code).toBe('INVALID_TREE');
    const tree = { tokens: Int32Array.of(4, 5, 6), parents: Int32Array.of(-1, 0, -1) };
    const [verified] = await model.verify([{ state, tree }]);
    expect((await rejection(model.commit([{ state, verified, path: [0, 2] }]))).code).toBe('INVALID_PATH');
    expect((await rejection(model.commit([{ state, verified, path: [1] }]))).code).toBe('INVALID_PATH');
    const before = state.clone();
    await model.step([{ state, token: 7 }]);
    expect((await rejection(model.commit([{ state, verified, path: [0] }]))).code).toBe('INVALID_INPUT');
    expect(state.position).toBe(before.position + 1);
    const other = await loadModel(await randomCheckpoint(tinyRetNetConfig(0, 1), 11), { backend });
    expect((await rejection(other.step([{ state, token: 1 }]))).code).toBe('FOREIGN_STATE');
    await other.dispose();
    expect((await rejection(model.prefill([{ state, tokens: new Int32Array(0) }]))).code).toBe(
      'INVALID_INPUT',
    );
  });

  it("embedding overrides replace a node's input embedding (PaSS lookahead nodes)", async () => {
    await ready;
    const state = model.newState();
    await model.prefill([{ state, tokens: Int32Array.of(1, 2, 3) }]);
    const embed = (await readCheckpoint(folderReader(dir), dir)).tensors.get('model.embed_tokens.weight')!;
    const d = model.hiddenSize;
    const vectors = (embed.data as Float32Array).slice(42 * d, 43 * d);
    const parents = Int32Array.of(-1, 0, 1);
    const [plain] = await model.verify([{ state, tree: { tokens: Int32Array.of(4, 42, 6), parents } }]);
    const overrides = { nodes: Int32Array.of(1), vectors };
    // The overridden node's token id is ignored, even when out of range.
    const tree = { tokens: Int32Array.of(4, 1000, 6), parents, embeddingOverrides: overrides };
    const [overridden] = await model.verify([{ state, tree }]);
    expect(maxAbsDiff(overridden.logits, plain.logits)).toBeLessThanOrEqual(1e-6);
    const [other] = await model.verify([{ state, tree: { tokens: Int32Array.of(4, 43, 6), parents } }]);
    expect(maxAbsDiff(other.logits, plain.logits)).toBeGreaterThan(1e-3);
  });
});

describe('lmHeadWeights', () => {
  it('is lm_head [V, d] when present, the embedding when tied', async () => {
    const config = tinyRetNetConfig(0, 1);
    const tensors = randomWeights(config, 12);
    const untied = await loadModel(await writeCheckpoint(config, tensors), { backend });
    expect(untied.lmHeadWeights?.()).toEqual(tensors.get('lm_head.weight')!.data);
    tensors.delete('lm_head.weight');
    const tied = await loadModel(await writeCheckpoint({ ...config, tie_word_embeddings: true }, tensors), {
      backend,
    });
    expect(tied.lmHeadWeights?.()).toEqual(tensors.get('model.embed_tokens.weight')!.data);
    await Promise.all([untied.dispose(), tied.dispose()]);
  });
});
