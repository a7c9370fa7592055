import { int64, type Tensor, tensorOf } from '@densessm/tensor';
import type { PackedState } from '../state.js';
import { kvName, pendingKName, pendingVName, type RetNetDims } from './config.js';
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
 * Pending rows fed when a pass has none: a zero row with zero weight. Zero-size pend_* inputs are not an option:
 * onnxruntime-web (wasm) traps ("divide by zero") and onnxruntime-node kills the process (measured 2026-11-22).
 */
const MIN_PENDING_ROWS = 1;

/**
 * Builds the data inputs of the forward graph (see graphs.ts) for sequences whose nodes are concatenated in
 * order. Every quantity the tree shape decides (ancestor masks, decays, 1/sqrt(c), rotary angles) is made here.
 * `verify` passes read each sequence's pending rows; `advance` passes fold the nodes in (no pending rows allowed).
 */
export function forwardFeeds(
  ctx: FeedContext,
  seqs: readonly SequenceNodes[],
  logitRows: readonly number[],
  mode: 'verify' | 'advance',
  /** Batches: per layer [B, H, dv, dk], the states already gathered (see `BatchStates`). */
  batchKv?: readonly Float32Array[],
): Record<string, Tensor> {
  const fold = mode === 'advance';
  const { d, H, dk, dv, L } = ctx.dims;
  const B = seqs.length;
  const N = seqs.reduce((n, s) => n + s.tokens.length, 0);
  const layerSize = H * dv * dk;

  const hidden = new Float32Array(N * d);
  const cos = new Float32Array(N * dk);
  const sin = new Float32Array(N * dk);
  const mask = new Float32Array(H * N * N);
  const slots = Math.max(...seqs.map((s) => s.tokens.length));
  // Single sequence: [H, 1, N]; batched: slot layout [B, H, 1, M] (see graphs.ts).
  const stateRead = new Float32Array(B === 1 ? H * N : B * H * slots);
  const P = fold ? 0 : Math.max(MIN_PENDING_ROWS, ...seqs.map((s) => s.state.pendingCount));
  // Single sequence: [H, P, N]; batched: [B, H, P, M].
  const pendMask = fold ? null : new Float32Array(B === 1 ? H * P * N : B * H * P * slots);
  const readIndex = new BigInt64Array(B * slots);
  const readBack = new BigInt64Array(N);
  const gathered = B > 1 && batchKv !== undefined;
  const kv =
    gathered && batchKv
      ? batchKv
      : Array.from({ length: L }, (_, l) =>
          B === 1 ? seqs[0].state.tensors[kvName(l)] : new Float32Array(B * layerSize),
        );
  const foldW = fold ? new Float32Array(B * H * slots) : null;
  const foldDecay = fold ? new Float32Array(B * H) : null;

  let offset = 0;
  seqs.forEach((s, b) => {
    const n = s.tokens.length;
    const pending = s.state.pendingCount;
    if (fold && pending > 0) throw new Error('advance pass over a state with pending rows (fold them first)');
    if (B > 1 && !gathered) for (let l = 0; l < L; l++) kv[l].set(s.state.tensors[kvName(l)], b * layerSize);
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
        // The state sits at the base position p0 = position - pending; pending row j at p0 + j (SPEC.md).
        const read = gamma ** (pending + t + 1) * invSqrtC;
        if (B === 1) stateRead[h * N + row] = read;
        else stateRead[(b * H + h) * slots + i] = read;
        if (pendMask) {
          const base = B === 1 ? h * P * N + row : (b * H + h) * P * slots + i;
          const stride = B === 1 ? N : slots;
          for (let j = 0; j < pending; j++)
            pendMask[base + j * stride] = gamma ** (pending + t - j) * invSqrtC;
        }
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
    state_read: tensorOf('float32', B === 1 ? [H, 1, N] : [B, H, 1, slots], stateRead),
    logit_rows: int64([logitRows.length], logitRows),
  };
  if (B > 1) {
    feeds.read_index = tensorOf('int64', [B, slots], readIndex);
    feeds.read_back = tensorOf('int64', [N], readBack);
  }
  kv.forEach((data, l) => {
    feeds[`kv_in.${l}`] = tensorOf('float32', per([H, dv, dk]), data);
  });
  if (pendMask) {
    feeds.pend_mask = tensorOf('float32', B === 1 ? [H, P, N] : [B, H, P, slots], pendMask);
    Object.assign(feeds, pendingFeeds(ctx.dims, seqs, P));
  }
  if (foldW && foldDecay) {
    feeds.fold_w = tensorOf('float32', per([H, slots, 1]), foldW);
    feeds.fold_decay = tensorOf('float32', per([H, 1, 1]), foldDecay);
  }
  return feeds;
}

/** Widths (floats per token row) of a dense_retnet state's pending buffers: `k.{l}` [H, dk], `v.{l}` [H, dv]. */
export function pendingWidths(dims: RetNetDims): Record<string, number> {
  const widths: Record<string, number> = {};
  for (let l = 0; l < dims.L; l++) {
    widths[pendingKName(l)] = dims.H * dims.dk;
    widths[pendingVName(l)] = dims.H * dims.dv;
  }
  return widths;
}

/**
 * pend_k.{l} [(B,) P, H, dk] and pend_v.{l} [(B,) P, H, dv]: each sequence's first pending rows, zero rows after
 * them. One sequence with P rows pending feeds views of its buffers (no copy).
 */
function pendingFeeds(dims: RetNetDims, seqs: readonly SequenceNodes[], P: number): Record<string, Tensor> {
  const B = seqs.length;
  const feeds: Record<string, Tensor> = {};
  for (const [name, width] of Object.entries(pendingWidths(dims))) {
    const input = `pend_${name}`;
    const row = [dims.H, width / dims.H];
    const shape = B === 1 ? [P, ...row] : [B, P, ...row];
    const only = seqs[0].state;
    if (B === 1 && only.pendingCount === P) {
      const rows = only.pending?.[name].subarray(0, P * width) ?? new Float32Array(0);
      feeds[input] = tensorOf('float32', shape, rows);
      continue;
    }
    const data = new Float32Array(B * P * width);
    seqs.forEach((s, b) => {
      const rows = s.state.pendingCount;
      if (rows > 0) data.set(s.state.pending![name].subarray(0, rows * width), b * P * width);
    });
    feeds[input] = tensorOf('float32', shape, data);
  }
  return feeds;
}

/**
 * The batch input kv_in.{l} [B, H, dv, dk] kept from pass to pass. With lazy state writes a state's tensors
 * change only when it folds, so consecutive passes over the same batch recopy only the slots whose state folded
 * (or changed hands) instead of assembling B x 4 MB anew each pass. One pass at a time uses the buffers; a pass
 * that finds them busy (concurrent calls) gathers into fresh arrays.
 */
export class BatchStates {
  /** The tensors object each slot was copied from (weak: a replaced state may be collected). */
  private slots: (WeakRef<object> | undefined)[] = [];
  private layers: Float32Array[] = [];
  private busy = false;

  constructor(private readonly dims: RetNetDims) {}

  /** Gathers the states; `release` must be called once the pass that reads the buffers is over. */
  gather(states: readonly PackedState[]): { layers: Float32Array[]; release: () => void } {
    const { L, H, dv, dk } = this.dims;
    const size = H * dv * dk;
    const B = states.length;
    const fresh = this.busy;
    if (fresh || this.layers.length === 0 || this.layers[0].length !== B * size) {
      const layers = Array.from({ length: L }, () => new Float32Array(B * size));
      if (fresh) {
        states.forEach((s, b) => {
          for (let l = 0; l < L; l++) layers[l].set(s.tensors[kvName(l)], b * size);
        });
        return { layers, release: () => undefined };
      }
      this.layers = layers;
      this.slots = [];
    }
    states.forEach((s, b) => {
      if (this.slots[b]?.deref() === s.tensors) return;
      for (let l = 0; l < L; l++) this.layers[l].set(s.tensors[kvName(l)], b * size);
      this.slots[b] = new WeakRef(s.tensors);
    });
    this.busy = true;
    return {
      layers: this.layers,
      release: () => {
        this.busy = false;
      },
    };
  }
}
