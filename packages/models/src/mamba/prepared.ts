import type { Tensor } from '@densessm/tensor';
import { transposed } from '../graph/ops.js';
import type { ModelWeights } from '../weights.js';
import { denseSources, type MambaConfig } from './config.js';
import { mambaNames } from './weights.js';

/** A weight as the graphs bind it: a stable name and the (possibly re-laid-out) fp32 tensor. */
export interface GraphWeight {
  readonly name: string;
  readonly tensor: Tensor<'float32'>;
}

export interface PreparedLayer {
  readonly norm: GraphWeight;
  /** in_proj^T [d, 2E] (+ bias [2E]). */
  readonly inProj: GraphWeight;
  readonly inProjBias?: GraphWeight;
  /** conv1d weight as rows of taps [K, E] (oldest tap first). */
  readonly conv: GraphWeight;
  readonly convBias?: GraphWeight;
  /** x_proj^T [E, R+2N]. */
  readonly xProj: GraphWeight;
  /** dt_proj^T [R, E] and bias [E]. */
  readonly dtProj: GraphWeight;
  readonly dtBias: GraphWeight;
  /** A^T = -exp(A_log)^T [N, E] (SPEC.md's A, transposed like the state), computed once. */
  readonly a: GraphWeight;
  readonly d: GraphWeight;
  /** out_proj^T [E, d] (+ bias [d]). */
  readonly outProj: GraphWeight;
  readonly outProjBias?: GraphWeight;
  /** dense_mamba fusion (layers with earlier sources only): x_select fc1^T [d, s], fc2^T [s, E], x_norm [E]. */
  readonly dense?: {
    readonly fc1: GraphWeight;
    readonly fc2: GraphWeight;
    readonly norm: GraphWeight;
    readonly sources: number[];
  };
}

/** The weights laid out once for every graph (transposed linears, A from A_log), shared by all sessions. */
export interface PreparedMamba {
  readonly config: MambaConfig;
  readonly embedding: GraphWeight;
  readonly normF: GraphWeight;
  /** lm_head^T [d, V] (the embedding's transpose when tied). */
  readonly lmHead: GraphWeight;
  readonly layers: readonly PreparedLayer[];
}

/** A_log [E, N] -> A^T = -exp(A_log)^T [N, E]. */
function negExpTransposed(t: Tensor<'float32'>): Tensor<'float32'> {
  return transposed({ dtype: 'float32', dims: [...t.dims], data: t.data.map((v) => -Math.exp(v)) });
}

/** conv1d.weight [E, 1, K] -> [K, E]. */
function tapsFirst(t: Tensor<'float32'>): Tensor<'float32'> {
  const [e, , k] = t.dims;
  return transposed({ dtype: 'float32', dims: [e, k], data: t.data });
}

export function prepareMambaWeights(config: MambaConfig, weights: ModelWeights): PreparedMamba {
  const plain = (name: string): GraphWeight => ({ name, tensor: weights.get(name) });
  const optional = (name: string): GraphWeight | undefined => (weights.has(name) ? plain(name) : undefined);
  const derived = (
    name: string,
    how: string,
    f: (t: Tensor<'float32'>) => Tensor<'float32'>,
  ): GraphWeight => ({
    name: `${name}:${how}`,
    tensor: f(weights.get(name)),
  });
  const headName = weights.has(mambaNames.lmHead) ? mambaNames.lmHead : mambaNames.embedding;
  const layers = Array.from({ length: config.numLayers }, (_, i): PreparedLayer => {
    const n = (rest: string) => mambaNames.layer(i, rest);
    const sources = denseSources(config, i);
    return {
      norm: plain(n('norm.weight')),
      inProj: derived(n('mixer.in_proj.weight'), 'T', transposed),
      inProjBias: optional(n('mixer.in_proj.bias')),
      conv: derived(n('mixer.conv1d.weight'), 'KE', tapsFirst),
      convBias: optional(n('mixer.conv1d.bias')),
      xProj: derived(n('mixer.x_proj.weight'), 'T', transposed),
      dtProj: derived(n('mixer.dt_proj.weight'), 'T', transposed),
      dtBias: plain(n('mixer.dt_proj.bias')),
      a: derived(n('mixer.A_log'), 'AT', negExpTransposed),
      d: plain(n('mixer.D')),
      outProj: derived(n('mixer.out_proj.weight'), 'T', transposed),
      outProjBias: optional(n('mixer.out_proj.bias')),
      dense:
        sources.length > 0
          ? {
              fc1: derived(n('mixer.x_select.fc1.weight'), 'T', transposed),
              fc2: derived(n('mixer.x_select.fc2.weight'), 'T', transposed),
              norm: plain(n('mixer.x_norm.weight')),
              sources,
            }
          : undefined,
    };
  });
  return {
    config,
    embedding: plain(mambaNames.embedding),
    normF: plain(mambaNames.normF),
    lmHead: derived(headName, 'T', transposed),
    layers,
  };
}
