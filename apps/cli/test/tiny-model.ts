import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '@densessm/models';
import { float32 } from '@densessm/tensor';
import { writeSafetensorsFile } from '@densessm/tensor/node';

/** A small dense_retnet config: fast to load and run, but with every kind of tensor (dense fusion on). */
export const TINY_CONFIG = {
  model_type: 'dense_retnet',
  vocab_size: 300,
  hidden_size: 32,
  query_key_dim: 16,
  num_attention_heads: 2,
  v_factor: 2,
  num_hidden_layers: 2,
  dense_block_layers: 1,
  rms_norm_eps: 1e-6,
  tie_word_embeddings: false,
};

/** Deterministic uniform values in [-scale, scale] (mulberry32). */
function randomValues(count: number, seed: number, scale: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

/**
 * Writes a random-weight model folder (config.json + model.safetensors) with every tensor the models package
 * says the config needs. Returns the folder.
 */
export async function writeTinyModel(
  config: Record<string, unknown> = TINY_CONFIG,
  seed = 1,
): Promise<string> {
  const folder = mkdtempSync(join(tmpdir(), 'densessm-cli-model-'));
  const { architecture, config: parsed } = resolveConfig(config, 'tiny/config.json');
  const tensors = new Map<string, ReturnType<typeof float32>>();
  architecture.weightSpecs(parsed).forEach((spec, i) => {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    const isNorm = spec.shape.length === 1;
    const values = isNorm ? new Float32Array(count).fill(1) : randomValues(count, seed * 1000 + i, 0.5);
    tensors.set(spec.name, float32(spec.shape, values));
  });
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'config.json'), JSON.stringify(config, null, 2));
  await writeSafetensorsFile(join(folder, 'model.safetensors'), tensors);
  return folder;
}
