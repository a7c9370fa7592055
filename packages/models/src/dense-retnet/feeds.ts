import { int64, type Tensor, tensorOf } from '@densessm/tensor';
import type { PackedState } from '../state.js';
import { kvName, type RetNetDims } from './config.js';
import { retentionCount, writeRotary } from './rotary.js';

/** The nodes one sequence contributes to a forward pass (a prompt chunk, a step token, or a token tree). */
export interface SequenceNodes {
  readonly state: PackedState;
  readonly tokens: Int32Array;
  /** parents[i] < i, -1 for roots (nodes whose parent is the committed context). */
  readonly parents: Int32Array;
  readonly depths: Int32Array;
  readonly embeddingOverrides?: { readonly nodes: Int32Array; readonly vectors: Float32Array };
}

/** Precomputed per-model constants for building feeds. */
export interface FeedContext {
  readonly dims: RetNetDims;
  readonly gammas: Float64Array;
  readonly thetas: Float64Array;
  readonly embed: Float32Array;
}

/** Chain parents (-1, 0, 1, ...) and depths (0, 1, 2, ...) for `n` nodes. */
export function chain(n: number): { parents: Int32Array; depths: Int32Array } {
  return {
    parents: Int32Array.from({ length: n }, (_, i) => i - 1),
    depths: Int32Array.from({ length: n }, (_, i) => i),
  };
}

/**
 * Builds the data inputs of the forward graph (see graphs.ts) for sequences whose nodes are concatenated in
 * order. Every quantity the tree shape decides (ancestor masks, decays, 1/sqrt(c), rotary angles) is made here.
 */
export function forwardFeeds(
  ctx: FeedContext,
  seqs: readonly SequenceNodes[],
  logitRows: readonly number[],
  fold: boolean,
): Record<string, Tensor> {
  const { d, H, dk, dv, L } = ctx.dims;
  const B = seqs.length;
  const N = seqs.reduce((n, s) => n + s.tokens.length, 0);
  const layerSize = H * dv * dk;

  const hidden = new Float32Array(N * d);
  const cos = new Float32Array(N * dk);
  const sin = new Float32Array(N * dk);
  const mask = new Float32Array(H * N * N);
  const stateRead = new Float32Array(H * N);
  const slots = Math.max(...seqs.map((s) => s.tokens.length));
  const readIndex = new BigInt64Array(B * slots);
  const readBack = new BigInt64Array(N);
  const kv = Array.from({ length: L }, (_, l) =>
    B === 1 ? seqs[0].state.tensors[kvName(l)] : new Float32Array(B * layerSize),
  );
  const foldW = fold ? new Float32Array(B * H * slots) : null;
  const foldDecay = fold ? new Float32Array(B * H) : null;

  let offset = 0;
  seqs.forEach((s, b) => {
    const n = s.tokens.length;
    if (B > 1) for (let l = 0; l < L; l++) kv[l].set(s.state.tensors[kvName(l)], b * layerSize);
    for (let i = 0; i < n; i++)
      hidden.set(ctx.embed.subarray(s.tokens[i] * d, (s.tokens[i] + 1) * d), (offset + i) * d);
    if (s.embeddingOverrides) {
      const { nodes, vectors } = s.embeddingOverrides;
      for (let k = 0; k < nodes.length; k++)
        hidden.set(vectors.subarray(k * d, (k + 1) * d), (offset + nodes[k]) * d);
    }
    for (let i = 0; i < n; i++) {
      const row = offset + i;
      const t = s.depths[i];
      readIndex[b * slots + i] = BigInt(row);
      readBack[row] = BigInt(b * slots + i);
      writeRotary(ctx.thetas, s.state.position + t, cos, sin, row * dk);
      for (let h = 0; h < H; h++) {
        const gamma = ctx.gammas[h];
        const invSqrtC = 1 / Math.sqrt(retentionCount(gamma, s.state.position + t));
        stateRead[h * N + row] = gamma ** (t + 1) * invSqrtC;
        // Ancestor-or-self j of i: walk up the parents.
        for (let j = i; j >= 0; j = s.parents[j])
          mask[(h * N + offset + j) * N + row] = gamma ** (t - s.depths[j]) * invSqrtC;
        if (foldW) foldW[(b * H + h) * slots + i] = gamma ** (n - 1 - t);
      }
    }
    if (foldDecay) for (let h = 0; h < H; h++) foldDecay[b * H + h] = ctx.gammas[h] ** n;
    offset += n;
  });

  // One sequence: the single-sequence graph, whose inputs have no batch axis (same data layout).
  const per = (dims: readonly number[]) => (B === 1 ? dims : [B, ...dims]);
  const feeds: Record<string, Tensor> = {
    hidden_in: tensorOf('float32', [N, d], hidden),
    rot_cos: tensorOf('float32', [N, 1, dk], cos),
    rot_sin: tensorOf('float32', [N, 1, dk], sin),
    decay_mask: tensorOf('float32', [H, N, N], mask),
    state_read: tensorOf('float32', [H, 1, N], stateRead),
    logit_rows: int64([logitRows.length], logitRows),
  };
  if (B > 1) {
    feeds.read_index = tensorOf('int64', [B, slots], readIndex);
    feeds.read_back = tensorOf('int64', [N], readBack);
  }
  kv.forEach((data, l) => {
    feeds[`kv_in.${l}`] = tensorOf('float32', per([H, dv, dk]), data);
  });
  if (foldW && foldDecay) {
    feeds.fold_w = tensorOf('float32', per([H, slots, 1]), foldW);
    feeds.fold_decay = tensorOf('float32', per([H, 1, 1]), foldDecay);
  }
  return feeds;
}
