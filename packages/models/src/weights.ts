import { type Tensor, tensorToFloat32 } from '@densessm/tensor';
import { ModelError } from './errors.js';

/** One tensor an architecture expects in the checkpoint. */
export interface WeightSpec {
  /** Canonical name (the checkpoint's key). */
  readonly name: string;
  readonly shape: readonly number[];
  /** Absent is fine (e.g. `lm_head.weight` when tied). */
  readonly optional?: boolean;
  /** Other keys accepted for the same tensor (e.g. `backbone.embedding.weight`). */
  readonly aliases?: readonly string[];
}

/** The validated, fp32 weights of a model, keyed by canonical name. */
export class ModelWeights {
  constructor(private readonly tensors: ReadonlyMap<string, Tensor<'float32'>>) {}

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  get(name: string): Tensor<'float32'> {
    const t = this.tensors.get(name);
    if (!t)
      throw new ModelError(
        'MISSING_TENSOR',
        `weight '${name}' was not bound; it is not in the architecture's specs`,
      );
    return t;
  }

  /** Number of parameters. */
  get parameterCount(): number {
    let n = 0;
    for (const t of this.tensors.values()) n += t.data.length;
    return n;
  }

  get byteSize(): number {
    return this.parameterCount * 4;
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Checks a checkpoint's tensors against an architecture's specs and upcasts fp16 to fp32 (bf16 arrives upcast).
 * Missing tensors, wrong shapes and non-float dtypes fail naming the tensor, the expected and actual shape and
 * the file (`fileOf`); tensors no spec names are ignored (e.g. `k_select` of layer 0 in released checkpoints).
 */
export function bindWeights(
  specs: readonly WeightSpec[],
  stored: ReadonlyMap<string, Tensor>,
  folder: string,
  fileOf: (name: string) => string,
): ModelWeights {
  const bound = new Map<string, Tensor<'float32'>>();
  for (const spec of specs) {
    const key = [spec.name, ...(spec.aliases ?? [])].find((k) => stored.has(k));
    if (key === undefined) {
      if (spec.optional) continue;
      const also = spec.aliases?.length ? ` (or ${spec.aliases.join(', ')})` : '';
      throw new ModelError(
        'MISSING_TENSOR',
        `${folder}: tensor '${spec.name}'${also} of shape [${spec.shape.join(', ')}] is missing from the safetensors files; ` +
          're-export the checkpoint or check config.json matches it',
      );
    }
    const t = stored.get(key)!;
    if (!sameShape(t.dims, spec.shape)) {
      throw new ModelError(
        'TENSOR_SHAPE',
        `${fileOf(key)}: tensor '${key}' has shape [${t.dims.join(', ')}], expected [${spec.shape.join(', ')}] from config.json`,
      );
    }
    if (t.dtype !== 'float32' && t.dtype !== 'float16') {
      throw new ModelError(
        'TENSOR_DTYPE',
        `${fileOf(key)}: tensor '${key}' has dtype ${t.dtype}; weights must be F32, F16 or BF16`,
      );
    }
    bound.set(spec.name, tensorToFloat32(t));
  }
  return new ModelWeights(bound);
}
