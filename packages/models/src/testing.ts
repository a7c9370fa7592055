/**
 * `@densessm/models/testing` (Node only): tiny random-weight checkpoints in the HF folder layout, for tests and
 * benchmarks of every package (loadable by `loadModel`).
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { float32, type Tensor } from '@densessm/tensor';
import { writeSafetensorsFile } from '@densessm/tensor/node';
import type { RawConfig } from './config.js';
import { createRng } from './generate.js';
import { resolveConfig } from './registry.js';

/** Standard-normal samples from the seeded PRNG (Box-Muller). */
export function normals(count: number, rng: () => number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const u = 1 - rng();
    out[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
  }
  return out;
}

/**
 * Random weights for every tensor the config's architecture expects: norm weights near 1, matrices
 * N(0, 1/fan_in) (embeddings N(0, 1)), so activations stay O(1) and logits are spread. `custom` overrides a
 * tensor by name (e.g. Mamba's A_log), returning undefined to keep the default.
 */
export function randomWeights(
  config: RawConfig,
  seed: number,
  custom: (name: string, shape: readonly number[], rng: () => number) => Float32Array | undefined = () =>
    undefined,
): Map<string, Tensor> {
  const { architecture, config: parsed } = resolveConfig(config, 'test config.json');
  const rng = createRng(seed);
  const tensors = new Map<string, Tensor>();
  for (const spec of architecture.weightSpecs(parsed)) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const z = normals(n, rng);
    let data = custom(spec.name, spec.shape, rng);
    if (!data) {
      if (spec.shape.length === 1) data = z.map((x) => 1 + 0.1 * x);
      else if (spec.name.includes('embed')) data = z;
      else data = z.map((x) => x / Math.sqrt(spec.shape[spec.shape.length - 1]));
    }
    tensors.set(spec.name, float32(spec.shape, data));
  }
  return tensors;
}

/** Writes an HF-style folder (config.json + model.safetensors) in a fresh temp dir and returns its path. */
export async function writeCheckpoint(
  config: RawConfig,
  tensors: ReadonlyMap<string, Tensor>,
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'densessm-models-'));
  await writeFile(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  await writeSafetensorsFile(join(dir, 'model.safetensors'), tensors);
  return dir;
}

/** A random checkpoint for `config` on disk, loadable by `loadModel`. */
export async function randomCheckpoint(config: RawConfig, seed: number): Promise<string> {
  return writeCheckpoint(config, randomWeights(config, seed));
}
