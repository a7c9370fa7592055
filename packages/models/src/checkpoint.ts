import {
  loadSafetensorsWeights,
  parseSafetensorsIndex,
  type ReadFolderFile,
  SAFETENSORS_INDEX_FILE,
  SAFETENSORS_SINGLE_FILE,
  type Tensor,
} from '@densessm/tensor';
import type { ReferenceModel, RuntimeOptions } from './architecture.js';
import type { RawConfig } from './config.js';
import { ModelError } from './errors.js';
import type { LanguageModel } from './language-model.js';
import { resolveConfig } from './registry.js';
import { bindWeights } from './weights.js';

/** A checkpoint in memory: `config.json` parsed and every tensor of its safetensors files by name. */
export interface Checkpoint {
  readonly config: RawConfig;
  readonly tensors: ReadonlyMap<string, Tensor>;
  /** Where it came from (a folder path or URL), for error messages. */
  readonly source: string;
  /** The file (shard) holding a tensor, for error messages. */
  fileOf(name: string): string;
}

function joinPath(folder: string, file: string): string {
  return folder.endsWith('/') ? folder + file : `${folder}/${file}`;
}

/** Reads files of a local folder (Node) or, for an http(s) URL, fetches them (browser or Node). */
export function folderReader(folder: string): ReadFolderFile {
  if (/^https?:\/\//.test(folder)) {
    return async (name) => {
      const response = await fetch(joinPath(folder, name));
      if (response.status === 404) return undefined;
      if (!response.ok) {
        throw new ModelError(
          'INVALID_FILE',
          `${joinPath(folder, name)}: HTTP ${response.status}; check the model URL`,
        );
      }
      return new Uint8Array(await response.arrayBuffer());
    };
  }
  return async (name) => {
    const { readFile } = await import('node:fs/promises');
    try {
      const bytes = await readFile(joinPath(folder, name));
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') return undefined;
      throw e;
    }
  };
}

/** Reads `config.json` and the safetensors weights (single file or sharded with an index) of a model folder. */
export async function readCheckpoint(read: ReadFolderFile, source: string): Promise<Checkpoint> {
  const configFile = joinPath(source, 'config.json');
  const configBytes = await read('config.json');
  if (configBytes === undefined) {
    throw new ModelError(
      'INVALID_FILE',
      `${configFile} does not exist; point the engine at an HF-style model folder`,
    );
  }
  let config: RawConfig;
  try {
    config = JSON.parse(new TextDecoder().decode(configBytes));
  } catch (e) {
    throw new ModelError('INVALID_FILE', `${configFile} is not valid JSON (${(e as Error).message})`);
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new ModelError('INVALID_FILE', `${configFile} must hold a JSON object`);
  }
  const tensors = await loadSafetensorsWeights(read, { source, toFloat32: true });
  const indexBytes = await read(SAFETENSORS_INDEX_FILE);
  const shards =
    indexBytes &&
    parseSafetensorsIndex(new TextDecoder().decode(indexBytes), joinPath(source, SAFETENSORS_INDEX_FILE));
  return {
    config,
    tensors,
    source,
    fileOf: (name) => joinPath(source, shards?.weightMap.get(name) ?? SAFETENSORS_SINGLE_FILE),
  };
}

function bind(checkpoint: Checkpoint) {
  const { architecture, config } = resolveConfig(
    checkpoint.config,
    joinPath(checkpoint.source, 'config.json'),
  );
  const weights = bindWeights(
    architecture.weightSpecs(config),
    checkpoint.tensors,
    checkpoint.source,
    checkpoint.fileOf,
  );
  return { architecture, config, weights };
}

/** Builds the graph-backed model of a checkpoint already in memory. */
export function modelFromCheckpoint(checkpoint: Checkpoint, options: RuntimeOptions): Promise<LanguageModel> {
  const { architecture, config, weights } = bind(checkpoint);
  return architecture.createModel(config, weights, options);
}

/** The pure-TypeScript reference of a checkpoint (SPEC.md, token by token; for tests and golden checks). */
export function referenceFromCheckpoint(checkpoint: Checkpoint): ReferenceModel {
  const { architecture, config, weights } = bind(checkpoint);
  return architecture.createReference(config, weights);
}

/**
 * Loads a model folder (`config.json` + `model.safetensors` or shards): a local path in Node, an http(s) URL,
 * or any reader of the folder's files. fp16/bf16 weights are upcast to fp32.
 */
export async function loadModel(
  folder: string | { read: ReadFolderFile; source: string },
  options: RuntimeOptions,
): Promise<LanguageModel> {
  const checkpoint =
    typeof folder === 'string'
      ? await readCheckpoint(folderReader(folder), folder)
      : await readCheckpoint(folder.read, folder.source);
  return modelFromCheckpoint(checkpoint, options);
}
