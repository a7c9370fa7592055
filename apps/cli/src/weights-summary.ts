import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  parseSafetensorsHeader,
  parseSafetensorsIndex,
  SAFETENSORS_INDEX_FILE,
  SAFETENSORS_SINGLE_FILE,
} from '@densessm/tensor';
import { ModelFolderError } from './errors.js';

export interface DTypeSummary {
  readonly dtype: string;
  readonly tensors: number;
  readonly parameters: number;
  readonly bytes: number;
}

export interface WeightsSummary {
  readonly files: readonly string[];
  readonly tensors: number;
  readonly parameters: number;
  readonly bytes: number;
  readonly byDType: readonly DTypeSummary[];
}

/** Reads only the JSON header of a safetensors file (its first 8 + n bytes), however large the file. */
async function readHeader(path: string): Promise<Record<string, unknown>> {
  const handle = await open(path, 'r').catch(() => {
    throw new ModelFolderError(
      'INVALID_MODEL',
      `${path} is missing or unreadable; the model folder is incomplete`,
    );
  });
  try {
    const lengthBytes = new Uint8Array(8);
    await handle.read(lengthBytes, 0, 8, 0);
    const length = Number(new DataView(lengthBytes.buffer).getBigUint64(0, true));
    const size = (await handle.stat()).size;
    const bytes = new Uint8Array(8 + Math.max(0, Math.min(length, size - 8)));
    await handle.read(bytes, 0, bytes.length, 0);
    return parseSafetensorsHeader(bytes, path).header;
  } finally {
    await handle.close();
  }
}

/** Parameter count and bytes per dtype of a model folder's weights, from the safetensors headers alone. */
export async function summarizeWeights(folder: string): Promise<WeightsSummary> {
  let files: string[];
  try {
    const index = parseSafetensorsIndex(await readFile(join(folder, SAFETENSORS_INDEX_FILE), 'utf8'));
    files = [...new Set(index.weightMap.values())].sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    files = [SAFETENSORS_SINGLE_FILE];
  }
  return summarizeFiles(folder, files);
}

/** The same summary for given safetensors files of a folder (e.g. a Medusa heads file). */
export async function summarizeFiles(folder: string, files: readonly string[]): Promise<WeightsSummary> {
  const byDType = new Map<string, { tensors: number; parameters: number; bytes: number }>();
  for (const file of files) {
    const header = await readHeader(join(folder, file));
    for (const [name, entry] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const { dtype, shape, data_offsets } = entry as {
        dtype: string;
        shape: number[];
        data_offsets: [number, number];
      };
      const slot = byDType.get(dtype) ?? { tensors: 0, parameters: 0, bytes: 0 };
      slot.tensors++;
      slot.parameters += shape.reduce((a, b) => a * b, 1);
      slot.bytes += data_offsets[1] - data_offsets[0];
      byDType.set(dtype, slot);
    }
  }
  const rows = [...byDType].map(([dtype, s]) => ({ dtype, ...s })).sort((a, b) => b.bytes - a.bytes);
  return {
    files,
    tensors: rows.reduce((a, r) => a + r.tensors, 0),
    parameters: rows.reduce((a, r) => a + r.parameters, 0),
    bytes: rows.reduce((a, r) => a + r.bytes, 0),
    byDType: rows,
  };
}
