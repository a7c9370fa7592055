import { type Tensor, tensorOf } from '@densessm/tensor';
import type { RuntimeOptions } from '../architecture.js';
import { ModelError } from '../errors.js';
import { type BuiltGraph, type DeltaStamp, GraphModel } from '../graph-model.js';
import type {
  ForwardOutput,
  OutputOptions,
  SequenceState,
  TokenTree,
  VerifyOutput,
} from '../language-model.js';
import { ownState, PackedState } from '../state.js';
import type { ModelWeights } from '../weights.js';
import { type DenseRetNetConfig, kvName, pendingKName, pendingVName, retnetDims } from './config.js';
import {
  BatchStates,
  chain,
  type FeedContext,
  forwardFeeds,
  pendingWidths,
  type SequenceNodes,
} from './feeds.js';
import { buildCommitGraph, buildForwardGraph, type ForwardMode, RetNetGraphWeights } from './graphs.js';
import { headDecays, rotaryThetas } from './rotary.js';

/** What `verify` leaves for `commit`: the batch's per-node k'/v and where this sequence's nodes sit in it. */
interface RetNetDeltas extends DeltaStamp {
  /** delta_k [L, H, total, dk] and delta_v [L, H, total, dv] of the whole verified batch. */
  readonly k: Float32Array;
  readonly v: Float32Array;
  readonly total: number;
  readonly offset: number;
}

/**
 * Default pending window (tokens per sequence kept as rows before folding into the state; SPEC.md "Pending
 * window"). Measured on dense-retnet-23m, 1 thread: see bench/results/models-dense_retnet-pending-t1.json.
 */
export const DEFAULT_PENDING_WINDOW = 32;

/**
 * `dense_retnet` on ONNX graphs: the LanguageModel contract (language-model.ts) over `graphs.ts`.
 *
 * State writes are lazy (RetNet's chunkwise form): a step is a 1-node verify and a commit copies the accepted
 * rows, both appending each token's rotated key and value to the state's pending rows; every pass reads the state
 * at its base position plus those rows. Only when a sequence would hold more than `pendingWindow` rows does one
 * `commit`-graph run fold them into the state (W of them at a time: the 4 MB state is written once per W tokens).
 * `pendingWindow: 0` writes the state on every step and commit.
 */
export class DenseRetNetModel extends GraphModel {
  readonly modelType = 'dense_retnet';
  private readonly dims;
  private readonly feedContext: FeedContext;
  private readonly graphWeights: RetNetGraphWeights;
  /** Largest number of pending rows a sequence keeps between calls. */
  readonly pendingWindow: number;
  private readonly widths: Record<string, number>;
  private readonly batchStates: BatchStates;

  constructor(
    readonly config: DenseRetNetConfig,
    weights: ModelWeights,
    options: RuntimeOptions,
  ) {
    super(options);
    this.pendingWindow = options.pendingWindow ?? DEFAULT_PENDING_WINDOW;
    if (!Number.isInteger(this.pendingWindow) || this.pendingWindow < 0) {
      throw new ModelError(
        'INVALID_INPUT',
        `pendingWindow must be a non-negative integer, got ${this.pendingWindow}`,
      );
    }
    this.dims = retnetDims(config);
    this.widths = pendingWidths(this.dims);
    this.batchStates = new BatchStates(this.dims);
    this.graphWeights = new RetNetGraphWeights(config, weights);
    this.feedContext = {
      dims: this.dims,
      gammas: headDecays(this.dims.H),
      thetas: rotaryThetas(this.dims.dk),
      embed: weights.get('model.embed_tokens.weight').data,
    };
  }

  get vocabSize(): number {
    return this.dims.V;
  }

  get hiddenSize(): number {
    return this.dims.d;
  }

  /** `[vocabSize, hiddenSize]` row-major: lm_head, or the embedding when tied. */
  lmHeadWeights(): Float32Array {
    return this.graphWeights.lmHeadRows();
  }

  newState(): PackedState {
    const { H, dv, dk } = this.dims;
    return new PackedState(
      this,
      this.layerTensors(() => new Float32Array(H * dv * dk)),
    );
  }

  /**
   * State tensors `kv.{l}` [H, dv, dk] (S^T per head at `basePosition`; the count c is a function of the
   * position); pending rows `k.{l}` [H, dk] and `v.{l}` [H, dv] per token in `PackedState.pending`.
   */
  private layerTensors(make: (l: number) => Float32Array): Record<string, Float32Array> {
    return Object.fromEntries(Array.from({ length: this.dims.L }, (_, l) => [kvName(l), make(l)]));
  }

  /** Runs the forward graph of `mode`; a batch of one runs the single-sequence graph (no slots). */
  private async forward(
    mode: ForwardMode,
    seqs: readonly SequenceNodes[],
    logitRows: readonly number[],
    into?: Record<string, Tensor>,
  ) {
    const batched = seqs.length > 1;
    const gathered = batched ? this.batchStates.gather(seqs.map((s) => s.state)) : undefined;
    try {
      return await this.run(
        batched ? `${mode}-batched` : mode,
        (): BuiltGraph => buildForwardGraph(this.graphWeights, mode, this.placement, batched),
        forwardFeeds(this.feedContext, seqs, logitRows, mode, gathered?.layers),
        undefined,
        into,
      );
    } finally {
      gathered?.release();
    }
  }

  /**
   * `kv_out.{l}` outputs written into the state's recycled arrays (no fresh 6 MB allocation per pass), when it
   * has them.
   */
  private recycledOutputs(state: PackedState): Record<string, Tensor> | undefined {
    const spare = state.recycled();
    if (!spare) return undefined;
    const { H, dv, dk } = this.dims;
    return Object.fromEntries(
      Array.from({ length: this.dims.L }, (_, l) => [
        `kv_out.${l}`,
        tensorOf('float32', [H, dv, dk], spare[kvName(l)]),
      ]),
    );
  }

  private rows(out: Record<string, Tensor>, count: number, hidden: boolean): ForwardOutput[] {
    const { V, d } = this.dims;
    const logits = out.logits.data as Float32Array;
    const h = out.hidden.data as Float32Array;
    return Array.from({ length: count }, (_, i) => ({
      logits: logits.slice(i * V, (i + 1) * V),
      ...(hidden ? { hidden: h.slice(i * d, (i + 1) * d) } : {}),
    }));
  }

  /** Advances chains (one per sequence) through the `advance` graph; returns logits after each chain. */
  private async advance(
    seqs: readonly { state: PackedState; tokens: Int32Array }[],
    hidden: boolean,
  ): Promise<ForwardOutput[]> {
    const ends: number[] = [];
    let total = 0;
    for (const s of seqs) {
      total += s.tokens.length;
      ends.push(total - 1);
    }
    const single = seqs.length === 1;
    const out = await this.forward(
      'advance',
      seqs.map((s) => ({ ...s, ...chain(s.tokens.length) })),
      ends,
      single ? this.recycledOutputs(seqs[0].state) : undefined,
    );
    const { H, dv, dk } = this.dims;
    const size = H * dv * dk;
    seqs.forEach((s, b) => {
      const tensors = this.layerTensors((l) =>
        (out[`kv_out.${l}`].data as Float32Array).subarray(b * size, (b + 1) * size),
      );
      s.state.advance(tensors, s.state.position + s.tokens.length, single);
    });
    return this.rows(out, seqs.length, hidden);
  }

  async prefill(
    items: readonly { state: SequenceState; tokens: Int32Array }[],
    options: OutputOptions = {},
  ): Promise<ForwardOutput[]> {
    // One sequence per pass: prefill is compute-bound (weight reads are amortised over the chunk already), and a
    // pass's decay mask and scores grow with the square of its node count.
    const results: ForwardOutput[] = [];
    for (const s of this.prefillItems(items)) {
      await this.fold(s.state);
      let last: ForwardOutput | undefined;
      for (let start = 0; start < s.tokens.length; start += this.prefillChunk) {
        const tokens = s.tokens.subarray(start, start + this.prefillChunk);
        [last] = await this.advance([{ state: s.state, tokens }], options.hidden === true);
      }
      results.push(last!);
    }
    return results;
  }

  async step(
    items: readonly { state: SequenceState; token: number }[],
    options: OutputOptions = {},
  ): Promise<ForwardOutput[]> {
    const seqs = this.stepItems(items);
    if (this.pendingWindow === 0) return this.advance(seqs, options.hidden === true);
    const B = seqs.length;
    const out = await this.forward(
      'verify',
      seqs.map((s) => ({ ...s, ...chain(1) })),
      Array.from({ length: B }, (_, b) => b),
    );
    const k = out.delta_k.data as Float32Array;
    const v = out.delta_v.data as Float32Array;
    for (const [b, s] of seqs.entries()) await this.appendRows(s.state, k, v, B, b, [0]);
    return this.rows(out, B, options.hidden === true);
  }

  async verify(
    items: readonly { state: SequenceState; tree: TokenTree }[],
    options: OutputOptions = {},
  ): Promise<VerifyOutput[]> {
    const seqs = this.verifyItems(items).map(({ state, tree, depths }) => ({
      state,
      tokens: tree.tokens,
      parents: tree.parents,
      depths,
      embeddingOverrides: tree.embeddingOverrides,
    }));
    const total = seqs.reduce((n, s) => n + s.tokens.length, 0);
    const out = await this.forward(
      'verify',
      seqs,
      Array.from({ length: total }, (_, i) => i),
    );
    const { V, d } = this.dims;
    const logits = out.logits.data as Float32Array;
    const hidden = out.hidden.data as Float32Array;
    const k = out.delta_k.data as Float32Array;
    const v = out.delta_v.data as Float32Array;
    let offset = 0;
    return seqs.map((s) => {
      const n = s.tokens.length;
      const deltas: RetNetDeltas = { ...this.stamp(s.state, s.parents), k, v, total, offset };
      const result: VerifyOutput = {
        nodeCount: n,
        logits: logits.subarray(offset * V, (offset + n) * V),
        ...(options.hidden ? { hidden: hidden.subarray(offset * d, (offset + n) * d) } : {}),
        deltas,
      };
      offset += n;
      return result;
    });
  }

  async commit(
    items: readonly { state: SequenceState; verified: VerifyOutput; path: readonly number[] }[],
  ): Promise<void> {
    for (const { state, deltas, path } of this.commitItems<RetNetDeltas>(items))
      await this.appendRows(state, deltas.k, deltas.v, deltas.total, deltas.offset, path);
  }

  /**
   * Folds every given state's pending rows into its tensors (no change in meaning: positions, logits and later
   * results stay the same). Afterwards `tensors` hold the whole state, e.g. to compare with the reference.
   */
  async flush(states: readonly SequenceState[]): Promise<void> {
    const own = states.map((state, i) => ownState(state, this, `flush (item ${i})`));
    for (const state of own) await this.fold(state);
  }

  /**
   * Appends the rows of `nodes` (in order: a chain from the state's position on) out of a pass's delta_k
   * [L, H, total, dk] / delta_v [L, H, total, dv], whose sequence starts at row `offset`, to the state's pending
   * rows; folds first when they would not fit in the window (and again if the rows alone exceed it).
   */
  private async appendRows(
    state: PackedState,
    k: Float32Array,
    v: Float32Array,
    total: number,
    offset: number,
    nodes: readonly number[],
  ): Promise<void> {
    const { L, H, dk, dv } = this.dims;
    const count = nodes.length;
    if (count === 0) return;
    if (state.pendingCount + count > this.pendingWindow) await this.fold(state);
    const buffers = state.reservePending(this.widths, count, this.pendingWindow);
    const first = state.pendingCount;
    for (let l = 0; l < L; l++) {
      const pk = buffers[pendingKName(l)];
      const pv = buffers[pendingVName(l)];
      for (let h = 0; h < H; h++) {
        nodes.forEach((node, j) => {
          const src = (l * H + h) * total + offset + node;
          const dst = (first + j) * H + h;
          pk.set(k.subarray(src * dk, (src + 1) * dk), dst * dk);
          pv.set(v.subarray(src * dv, (src + 1) * dv), dst * dv);
        });
      }
    }
    state.appendPending(count);
    if (state.pendingCount > this.pendingWindow) await this.fold(state);
  }

  /**
   * Folds the state's pending rows into its tensors with the `commit` graph (one small run, memory-bound on the
   * state): row j of P weighs gamma^(P-1-j), the old state decays by gamma^P (SPEC.md commit).
   */
  private async fold(state: PackedState): Promise<void> {
    const P = state.pendingCount;
    if (P === 0) return;
    const { L, H, dk, dv } = this.dims;
    const pending = state.pending!;
    const feeds: Record<string, Tensor> = {};
    for (let l = 0; l < L; l++) {
      feeds[`path_k.${l}`] = tensorOf(
        'float32',
        [P, H, dk],
        pending[pendingKName(l)].subarray(0, P * H * dk),
      );
      feeds[`path_v.${l}`] = tensorOf(
        'float32',
        [P, H, dv],
        pending[pendingVName(l)].subarray(0, P * H * dv),
      );
      feeds[`kv_in.${l}`] = tensorOf('float32', [H, dv, dk], state.tensors[kvName(l)]);
    }
    const foldW = new Float32Array(H * P);
    const foldDecay = new Float32Array(H);
    for (let h = 0; h < H; h++) {
      const gamma = this.feedContext.gammas[h];
      for (let j = 0; j < P; j++) foldW[h * P + j] = gamma ** (P - 1 - j);
      foldDecay[h] = gamma ** P;
    }
    feeds.fold_w = tensorOf('float32', [H, P, 1], foldW);
    feeds.fold_decay = tensorOf('float32', [H, 1, 1], foldDecay);
    const into = this.recycledOutputs(state);
    const out = await this.run('commit', () => buildCommitGraph(this.config), feeds, undefined, into);
    state.advance(
      this.layerTensors((l) => out[`kv_out.${l}`].data as Float32Array),
      state.basePosition + P,
      true,
    );
  }
}
