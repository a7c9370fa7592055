/**
 * Node-only helpers (`@densessm/tensor/node`): file-system access for safetensors. Kept out of the main entry so
 * `@densessm/tensor` bundles for the browser.
 */
import { type FileHandle, mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  decodeSafetensorsHeaderJson,
  encodeSafetensors,
  type LoadWeightsOptions,
  loadSafetensorsWeights,
  planSafetensors,
  type SafetensorsEntry,
  SafetensorsError,
  type SafetensorsFile,
  type SafetensorsInput,
  safetensorsEntryToTensor,
  safetensorsHeaderLength,
  safetensorsSlotData,
  type ToTensorOptions,
} from './safetensors.js';
import type { Tensor } from './tensor.js';

async function readAt(fh: FileHandle, length: number, position: number, source: string): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(out, done, length - done, position + done);
    if (bytesRead === 0) {
      throw new SafetensorsError(
        'SAFETENSORS_TRUNCATED',
        `${source}: file ended while reading; it is truncated`,
        source,
      );
    }
    done += bytesRead;
  }
  return out;
}

/**
 * Parses a .safetensors file from disk tensor by tensor: each tensor gets its own (aligned) buffer, so files larger
 * than a Node Buffer can be read and nothing keeps the whole file alive.
 */
export async function readSafetensorsEntries(path: string): Promise<SafetensorsFile> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const first8 = await readAt(fh, Math.min(8, size), 0, path);
    const headerLength = safetensorsHeaderLength(first8, size, path);
    const header = decodeSafetensorsHeaderJson(await readAt(fh, headerLength, 8, path), path);
    const dataStart = 8 + headerLength;
    const { metadata, slots } = planSafetensors(header, size - dataStart, path);
    const tensors = new Map<string, SafetensorsEntry>();
    for (const slot of slots) {
      const bytes = await readAt(fh, slot.end - slot.begin, dataStart + slot.begin, path);
      const local = { ...slot, begin: 0, end: slot.end - slot.begin };
      tensors.set(slot.name, { dtype: slot.dtype, dims: slot.dims, data: safetensorsSlotData(local, bytes) });
    }
    return { metadata, tensors };
  } finally {
    await fh.close();
  }
}

/** Reads one .safetensors file into name -> Tensor (BF16 upcast to float32; F16 kept unless `toFloat32`). */
export async function readSafetensorsFile(
  path: string,
  options: ToTensorOptions & { /** Ignored: every tensor gets its own buffer. */ copy?: boolean } = {},
): Promise<Map<string, Tensor>> {
  const file = await readSafetensorsEntries(path);
  const out = new Map<string, Tensor>();
  for (const [name, entry] of file.tensors) out.set(name, safetensorsEntryToTensor(entry, options));
  return out;
}

async function ifExists<T>(task: () => Promise<T>): Promise<T | undefined> {
  try {
    return await task();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * Reads a model folder's weights: `model.safetensors.index.json` + its shards when present, else `model.safetensors`.
 * Returns name -> Tensor ({ dtype, dims, data }); F16 stays float16 unless `toFloat32`, BF16 becomes float32.
 */
export async function readSafetensorsFolder(
  dir: string,
  options: Omit<LoadWeightsOptions, 'source'> = {},
): Promise<Map<string, Tensor>> {
  return loadSafetensorsWeights(
    (name) => ifExists(async () => new Uint8Array(await readFile(join(dir, name)))),
    {
      ...options,
      source: dir,
      openSafetensors: (name) => ifExists(() => readSafetensorsEntries(join(dir, name))),
    },
  );
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
