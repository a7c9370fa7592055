import { GraphBuilder, type Tensor, tensorOf, type Value } from '@densessm/tensor';
import {
  concat,
  constF32,
  linear,
  reshape,
  rmsNorm,
  silu,
  split,
  transpose,
  transposed,
  unsqueeze,
} from '../graph/ops.js';
import { WeightBinder, type WeightPlacement } from '../graph/weight-binder.js';
import type { BuiltGraph } from '../graph-model.js';
import type { ModelWeights } from '../weights.js';
import { type DenseRetNetConfig, fuses, retnetDims } from './config.js';

/**
 * ONNX graphs of `dense_retnet` (SPEC.md). All modes run the same per-node forward over N nodes of B sequences
 * (concatenated, never padded); what differs is what comes out:
 *  - `verify`: logits of chosen rows plus each node's deltas (rotated k' and v per layer), state untouched; the
 *    nodes also read their sequence's pending rows (SPEC.md "Pending window"; steps are 1-node verifies);
 *  - `advance`: logits of chosen rows plus the states with every node folded in (prefill chunks and steps,
 *    whose nodes form one chain per sequence).
 * The tree structure, decays and the 1/sqrt(c) scale arrive as inputs computed in JS (feeds.ts `forwardFeeds`):
 *   o_i = [ gamma^(P+t_i+1) q'_i S + sum_{pending j < P} gamma^(P+t_i-j) (q'_i . k'_j) v_j
 *           + sum_{j anc-or-self of i} gamma^(t_i - t_j) (q'_i . k'_j) v_j ] / sqrt(c(n_i))
 * with S the state at the base position p0 and P pending rows (P = 0 in `advance` mode)
 * (SPEC.md "Tree verification"), so one graph serves chains, trees and whole batches.
 *
 * Inputs (all float32 unless noted; N nodes, B sequences, R logit rows):
 *   hidden_in [N, d]            token embeddings (looked up in JS, which also applies embedding overrides)
 *   rot_cos, rot_sin [N, 1, dk] rotary tables at each node's absolute position
 *   decay_mask [H, N, N]        [h, j, i] = gamma_h^(t_i - t_j) / sqrt(c_h(n_i)) if j is an ancestor-or-self of i
 *   state_read [H, 1, N]        [h, 0, i] = gamma_h^(P + t_i + 1) / sqrt(c_h(n_i)); batched in slot layout
 *                               [B, H, 1, M] ([b, h, 0, s] for node s of sequence b, 0 for unused slots)
 *   batched only: read_index int64 [B, M] = node of slot (b, s) (M = the largest sequence's node count, unused slots
 *                 0) and read_back int64 [N] = slot b*M + s of node i: each sequence's q' meet only its own state
 *   kv_in.{l} [B, H, dv, dk]    committed states S^T of layer l (one input per layer: no in-graph slicing)
 *   logit_rows int64 [R]        nodes whose logits (and final hidden) are returned
 *   verify only: pend_k.{l} [(B,) P, H, dk], pend_v.{l} [(B,) P, H, dv]: each sequence's pending rows, token-major
 *                 (batched: padded to the batch's largest P with zero rows); pend_mask [H, P, N] (batched
 *                 [B, H, P, M]) = gamma_h^(P_b + t_i - j) / sqrt(c_h(n_i)) for pending row j < P_b of node i's
 *                 sequence b, else 0. P >= 1 is fed (a zero row with zero weight when nothing is pending).
 *   advance only: fold_w [B, H, M, 1] = gamma_h^(len_b - 1 - t_j) for slot j of sequence b (0 for unused slots;
 *                 single sequence: [H, N, 1]), fold_decay [B, H, 1, 1]
 *                 = gamma_h^len_b (S' = gamma^k S + sum_j gamma^(k-1-t_j) k'_j^T v_j, SPEC.md commit)
 * Outputs: logits [R, V], hidden [R, d]; verify: delta_k [L, H, N, dk], delta_v [L, H, N, dv];
 *          advance: kv_out.{l} [B, H, dv, dk] per layer.
 */
export type ForwardMode = 'verify' | 'advance';

/** Row-stacks 2-D tensors of equal width ([a, w] + [b, w] -> [a + b, w]). */
function rowStack(parts: readonly Tensor<'float32'>[]): Tensor<'float32'> {
  const width = parts[0].dims[1];
  const rows = parts.reduce((n, t) => n + t.dims[0], 0);
  const out = new Float32Array(rows * width);
  let offset = 0;
  for (const t of parts) {
    out.set(t.data, offset);
    offset += t.data.length;
  }
  return tensorOf('float32', [rows, width], out);
}

/** blockdiag(a, b) of two [rows, cols] matrices. */
function blockDiagonal(a: Tensor<'float32'>, b: Tensor<'float32'>): Tensor<'float32'> {
  const [ra, ca] = a.dims;
  const [rb, cb] = b.dims;
  const out = new Float32Array((ra + rb) * (ca + cb));
  for (let i = 0; i < ra; i++) out.set(a.data.subarray(i * ca, (i + 1) * ca), i * (ca + cb));
  for (let i = 0; i < rb; i++) out.set(b.data.subarray(i * cb, (i + 1) * cb), (ra + i) * (ca + cb) + ca);
  return tensorOf('float32', [ra + rb, ca + cb], out);
}

/** P with x @ P = rotateEveryTwo(x): (x[2j], x[2j+1]) -> (-x[2j+1], x[2j]) (torchscale theta_shift). */
function rotateEveryTwoMatrix(dk: number): Float32Array {
  const p = new Float32Array(dk * dk);
  for (let j = 0; j < dk; j += 2) {
    p[(j + 1) * dk + j] = -1;
    p[j * dk + j + 1] = 1;
  }
  return p;
}

/** Model-level tensors prepared once for graph building (transposed and concatenated projections). */
export class RetNetGraphWeights {
  private readonly cache = new Map<string, Tensor<'float32'>>();

  constructor(
    readonly config: DenseRetNetConfig,
    private readonly weights: ModelWeights,
  ) {}

  private memo(key: string, make: () => Tensor<'float32'>): Tensor<'float32'> {
    let t = this.cache.get(key);
    if (!t) {
      t = make();
      this.cache.set(key, t);
    }
    return t;
  }

  raw(name: string): Tensor<'float32'> {
    return this.weights.get(name);
  }

  /** [d, 2Q + 2E (+ 2r)]: q_proj, k_proj, to_hidden (v then gate) and, when fusing, both select fc1 (transposed). */
  inputProjection(l: number): Tensor<'float32'> {
    return this.memo(`in${l}`, () => {
      const p = `model.layers.${l}.self_attn.`;
      const parts = ['q_proj', 'k_proj', 'to_hidden.0'].map((n) => this.raw(`${p}${n}.weight`));
      if (fuses(this.config, l))
        parts.push(this.raw(`${p}k_select.fc1.weight`), this.raw(`${p}v_select.fc1.weight`));
      return transposed(rowStack(parts));
    });
  }

  /** [2r, Q + E]: blockdiag(k_select.fc2^T, v_select.fc2^T), so one MatMul gives both gates. */
  selectOutput(l: number): Tensor<'float32'> {
    return this.memo(`sel${l}`, () => {
      const p = `model.layers.${l}.self_attn.`;
      return blockDiagonal(
        transposed(this.raw(`${p}k_select.fc2.weight`)),
        transposed(this.raw(`${p}v_select.fc2.weight`)),
      );
    });
  }

  outputProjection(l: number): Tensor<'float32'> {
    return this.memo(`out${l}`, () => transposed(this.raw(`model.layers.${l}.self_attn.to_out.0.weight`)));
  }

  /** lm_head [V, d] as stored; the embedding when tied or when the checkpoint has no lm_head (SPEC.md). */
  lmHeadRows(): Float32Array {
    const tied = this.config.tieWordEmbeddings || !this.weights.has('lm_head.weight');
    return this.raw(tied ? 'model.embed_tokens.weight' : 'lm_head.weight').data;
  }

  /** lm_head^T [d, V] for the graph. */
  lmHead(): Tensor<'float32'> {
    return this.memo('lm_head', () =>
      transposed(tensorOf('float32', [this.config.vocabSize, this.config.hiddenSize], this.lmHeadRows())),
    );
  }
}

/** What a verify pass reads besides the nodes: the pending rows and their weights (see `buildForwardGraph`). */
interface PendingInputs {
  readonly k: Value;
  readonly v: Value;
  readonly mask: Value;
}

/**
 * What node i of sequence b reads from outside the pass, [H, dv, N]:
 *   state_read_i * S_b^T q'_i^T + sum_{pending j of b} pend_mask[j, i] (q'_i . k'_j) v_j^T.
 * A batch gathers each sequence's q' rows into slots [B, H, dk, M], meets them only with its own state and pending
 * rows (weighted in slot layout) and gathers the node rows back; the unused slots of shorter sequences never reach
 * a node. Gathers are along axis 0 (whole rows), which is far cheaper than gathering columns.
 */
function readState(
  g: GraphBuilder,
  kv: Value,
  qr: Value,
  qrT: Value,
  stateRead: Value,
  pending: PendingInputs | null,
  slots: { readIndex: Value; readBack: Value } | null,
  H: number,
  dv: number,
): Value {
  // Pending rows arrive token-major ([(B,) P, H, d]); per head: k' [(B,) H, P, dk], v^T [(B,) H, dv, P].
  const fromPending = (q: Value): Value | null => {
    if (!pending) return null;
    const k = transpose(g, pending.k, slots ? [0, 2, 1, 3] : [1, 0, 2]);
    const vT = transpose(g, pending.v, slots ? [0, 2, 3, 1] : [1, 2, 0]);
    return g.op('MatMul', [vT, g.op('Mul', [g.op('MatMul', [k, q]), pending.mask])]);
  };
  const plus = (a: Value, b: Value | null) => (b ? g.op('Add', [a, b]) : a);
  if (!slots) return plus(g.op('Mul', [g.op('MatMul', [kv, qrT]), stateRead]), fromPending(qrT));
  const qRows = transpose(g, qr, [1, 0, 2]); // [N, H, dk]
  const qSlots = transpose(g, g.op('Gather', [qRows, slots.readIndex], { axis: 0 }), [0, 2, 3, 1]); // [B, H, dk, M]
  // [B, H, dv, M]: the state is read as stored, never transposed.
  const read = plus(g.op('Mul', [g.op('MatMul', [kv, qSlots]), stateRead]), fromPending(qSlots));
  const rows = reshape(g, transpose(g, read, [0, 3, 1, 2]), [-1, H, dv]); // [B*M, H, dv]
  return transpose(g, g.op('Gather', [rows, slots.readBack], { axis: 0 }), [1, 2, 0]);
}

/** v^T [B, H, dv, M] and k' [B, H, M, dk] of each sequence's nodes in its slots (see `readState`). */
function slotted(g: GraphBuilder, vHeads: Value, kr: Value, readIndex: Value): [Value, Value] {
  const vSlots = transpose(g, g.op('Gather', [vHeads, readIndex], { axis: 0 }), [0, 2, 3, 1]);
  const kRows = transpose(g, kr, [1, 0, 2]); // [N, H, dk]
  const kSlots = transpose(g, g.op('Gather', [kRows, readIndex], { axis: 0 }), [0, 2, 1, 3]);
  return [vSlots, kSlots];
}

/**
 * `batched` false specialises the graph to one sequence: the batch axis of `kv_in.{l}`, `fold_*` and `kv_out.{l}` is
 * dropped (same data layout), and the state read needs no per-sequence slots.
 */
export function buildForwardGraph(
  gw: RetNetGraphWeights,
  mode: ForwardMode,
  placement: WeightPlacement,
  batched: boolean,
): BuiltGraph {
  const config = gw.config;
  const { d, Q, H, E, dk, dv, r, L, V } = retnetDims(config);
  const eps = config.rmsNormEps;
  const g = new GraphBuilder(`dense_retnet_${mode}${batched ? '_batched' : ''}`);
  const per = (dims: readonly (number | string)[]) => (batched ? ['batch', ...dims] : dims);
  const w = new WeightBinder(g, placement);

  let h = g.input('hidden_in', 'float32', ['nodes', d]);
  const cos = g.input('rot_cos', 'float32', ['nodes', 1, dk]);
  const sin = g.input('rot_sin', 'float32', ['nodes', 1, dk]);
  const decayMask = g.input('decay_mask', 'float32', [H, 'nodes', 'nodes']);
  const stateRead = g.input('state_read', 'float32', batched ? ['batch', H, 1, 'slots'] : [H, 1, 'nodes']);
  const pendMask =
    mode === 'verify'
      ? g.input('pend_mask', 'float32', batched ? ['batch', H, 'pending', 'slots'] : [H, 'pending', 'nodes'])
      : null;
  const slots = batched
    ? {
        readIndex: g.input('read_index', 'int64', ['batch', 'slots']),
        readBack: g.input('read_back', 'int64', ['nodes']),
      }
    : null;
  const logitRows = g.input('logit_rows', 'int64', ['rows']);
  const foldW =
    mode === 'advance' ? g.input('fold_w', 'float32', per([H, batched ? 'slots' : 'nodes', 1])) : null;
  const foldDecay = mode === 'advance' ? g.input('fold_decay', 'float32', per([H, 1, 1])) : null;

  const rotateP = constF32(g, rotateEveryTwoMatrix(dk), [dk, dk]);
  // k = silu(Wk u) / sqrt(dk) (SPEC.md); v is not scaled. One Mul on the joint [k, v] stream.
  const kvScale = constF32(
    g,
    Float32Array.from({ length: Q + E }, (_, i) => (i < Q ? 1 / Math.sqrt(dk) : 1)),
    [Q + E],
  );

  const kvCurrent: Value[] = [];
  const deltaK: Value[] = [];
  const deltaV: Value[] = [];
  const kvOut: Value[] = [];
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}.`;
    const u = rmsNorm(g, h, w.use(`${p}input_layernorm.weight`, gw.raw(`${p}input_layernorm.weight`)), eps);
    const fusing = fuses(config, l);
    const proj = silu(g, linear(g, u, w.use(`l${l}.in_proj`, gw.inputProjection(l))));
    const parts = split(g, proj, fusing ? [Q, Q + E, E, 2 * r] : [Q, Q + E, E], 1);
    const [q, kvRaw, gate] = parts;
    const kvCur = g.op('Mul', [kvRaw, kvScale]);
    let k: Value;
    let v: Value;
    if (fusing) {
      // DenseSSM eq. 6-8 on k and v at once: [k, v] + silu(select(u)) * sum of [k_cur, v_cur] of layers l-1..l-m.
      const select = silu(g, linear(g, parts[3], w.use(`l${l}.select_out`, gw.selectOutput(l))));
      const past = kvCurrent
        .slice(Math.max(0, l - config.denseBlockLayers), l)
        .reduce((a, b) => g.op('Add', [a, b]));
      const [kf, vf] = split(g, g.op('Add', [kvCur, g.op('Mul', [select, past])]), [Q, E], 1);
      k = rmsNorm(g, kf, w.use(`${p}self_attn.k_norm.weight`, gw.raw(`${p}self_attn.k_norm.weight`)), eps);
      v = rmsNorm(g, vf, w.use(`${p}self_attn.v_norm.weight`, gw.raw(`${p}self_attn.v_norm.weight`)), eps);
    } else {
      [k, v] = split(g, kvCur, [Q, E], 1);
    }
    kvCurrent.push(kvCur);

    // Rotary on q and k together: x' = x cos + (x P) sin, [N, 2H, dk] -> [2H, N, dk].
    const qk = concat(g, [reshape(g, q, [-1, H, dk]), reshape(g, k, [-1, H, dk])], 1);
    const qkRot = g.op('Add', [g.op('Mul', [qk, cos]), g.op('Mul', [g.op('MatMul', [qk, rotateP]), sin])]);
    const [qr, kr] = split(g, transpose(g, qkRot, [1, 0, 2]), [H, H], 0);
    const qrT = transpose(g, qr, [0, 2, 1]); // [H, dk, N]
    const vHeads = reshape(g, v, [-1, H, dv]);
    const vT = transpose(g, vHeads, [1, 2, 0]); // [H, dv, N]

    // o^T [H, dv, N] = v^T (k' q'^T * mask) + state_read * (S_b(i)^T q'_i^T).
    const scores = g.op('Mul', [g.op('MatMul', [kr, qrT]), decayMask]); // [H, N_j, N_i]
    const kvLayer = g.input(`kv_in.${l}`, 'float32', per([H, dv, dk]));
    const pending = pendMask
      ? {
          k: g.input(`pend_k.${l}`, 'float32', per(['pending', H, dk])),
          v: g.input(`pend_v.${l}`, 'float32', per(['pending', H, dv])),
          mask: pendMask,
        }
      : null;
    const fromState = readState(g, kvLayer, qr, qrT, stateRead, pending, slots, H, dv);
    const oT = g.op('Add', [g.op('MatMul', [vT, scores]), fromState]);
    const o = transpose(g, oT, [2, 0, 1]); // [N, H, dv]
    const gn = w.use(`${p}self_attn.group_norm.weight`, gw.raw(`${p}self_attn.group_norm.weight`));
    const mixed = g.op('Mul', [reshape(g, rmsNorm(g, o, gn, eps), [-1, E]), gate]);
    h = g.op('Add', [h, linear(g, mixed, w.use(`l${l}.out_proj`, gw.outputProjection(l)))]);

    if (mode === 'verify') {
      deltaK.push(unsqueeze(g, kr, [0]));
      deltaV.push(unsqueeze(g, transpose(g, vHeads, [1, 0, 2]), [0]));
    } else {
      // S'^T = gamma^len S^T + v^T (w * k'), each sequence from its own nodes (batches: through the slots).
      const [vFold, kFold] = slots ? slotted(g, vHeads, kr, slots.readIndex) : [vT, kr];
      const folded = g.op('MatMul', [vFold, g.op('Mul', [foldW!, kFold])]); // [(B,) H, dv, dk]
      kvOut.push(g.op('Add', [g.op('Mul', [kvLayer, foldDecay!]), folded]));
    }
  }

  const last = rmsNorm(
    g,
    g.op('Gather', [h, logitRows], { axis: 0 }),
    w.use('model.norm.weight', gw.raw('model.norm.weight')),
    eps,
  );
  g.output(linear(g, last, w.use('lm_head', gw.lmHead())), 'logits', 'float32', ['rows', V]);
  g.output(last, 'hidden', 'float32', ['rows', d]);
  if (mode === 'verify') {
    g.output(concat(g, deltaK, 0), 'delta_k', 'float32', [L, H, 'nodes', dk]);
    g.output(concat(g, deltaV, 0), 'delta_v', 'float32', [L, H, 'nodes', dv]);
  } else {
    kvOut.forEach((kv, l) => {
      g.output(kv, `kv_out.${l}`, 'float32', per([H, dv, dk]));
    });
  }
  return { bytes: g.toBytes(), ops: g.opTypes(), weightFeeds: w.feeds };
}

/**
 * Fold of one sequence's rows into its state (SPEC.md commit and "Pending window"):
 *   S'^T = gamma^k S^T + sum_j gamma^(k-1-j) v_j k'_j^T  for rows j = 0..k-1 in token order.
 * Inputs per layer l: kv_in.{l} [H, dv, dk], path_k.{l} [P, H, dk], path_v.{l} [P, H, dv] (token-major, the
 * pending buffers' layout); shared: fold_w [H, P, 1], fold_decay [H, 1, 1]. Outputs: kv_out.{l} [H, dv, dk].
 * No weights; memory-bound on the state.
 */
export function buildCommitGraph(config: DenseRetNetConfig): BuiltGraph {
  const { H, dk, dv, L } = retnetDims(config);
  const g = new GraphBuilder('dense_retnet_commit');
  const foldW = g.input('fold_w', 'float32', [H, 'path', 1]);
  const foldDecay = g.input('fold_decay', 'float32', [H, 1, 1]);
  for (let l = 0; l < L; l++) {
    const kvIn = g.input(`kv_in.${l}`, 'float32', [H, dv, dk]);
    const pathK = transpose(g, g.input(`path_k.${l}`, 'float32', ['path', H, dk]), [1, 0, 2]); // [H, P, dk]
    const pathVT = transpose(g, g.input(`path_v.${l}`, 'float32', ['path', H, dv]), [1, 2, 0]); // [H, dv, P]
    const folded = g.op('MatMul', [pathVT, g.op('Mul', [pathK, foldW])]); // [H, dv, dk]
    g.output(g.op('Add', [g.op('Mul', [kvIn, foldDecay]), folded]), `kv_out.${l}`, 'float32', [H, dv, dk]);
  }
  return { bytes: g.toBytes(), ops: g.opTypes(), weightFeeds: {} };
}
