/**
 * Node-only helpers (`@densessm/tensor/node`): file-system access for safetensors. Kept out of the main entry so
 * `@densessm/tensor` bundles for the browser.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  decodeSafetensors,
  encodeSafetensors,
  type LoadWeightsOptions,
  loadSafetensorsWeights,
  type ParseSafetensorsOptions,
  type SafetensorsInput,
  type ToTensorOptions,
} from './safetensors.js';
import type { Tensor } from './tensor.js';

async function readIfExists(path: string): Promise<Uint8Array | undefined> {
  try {
    const b = await readFile(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Reads one .safetensors file into name -> Tensor (views into the file's buffer; BF16 upcast to float32). */
export async function readSafetensorsFile(
  path: string,
  options: Omit<ParseSafetensorsOptions, 'source'> & ToTensorOptions = {},
): Promise<Map<string, Tensor>> {
  const bytes = await readFile(path);
  return decodeSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
    ...options,
    source: path,
  });
}

/**
 * Reads a model folder's weights: `model.safetensors.index.json` + its shards when present, else `model.safetensors`.
 * Returns name -> Tensor ({ dtype, dims, data }); F16 stays float16 unless `toFloat32`, BF16 becomes float32.
 */
export async function readSafetensorsFolder(
  dir: string,
  options: Omit<LoadWeightsOptions, 'source'> = {},
): Promise<Map<string, Tensor>> {
  return loadSafetensorsWeights((name) => readIfExists(join(dir, name)), { ...options, source: dir });
}

/** Writes tensors as a .safetensors file (creating parent folders). */
export async function writeSafetensorsFile(
  path: string,
  tensors: ReadonlyMap<string, SafetensorsInput> | Readonly<Record<string, SafetensorsInput>>,
  metadata?: Readonly<Record<string, string>>,
): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, encodeSafetensors(tensors, metadata));
}
