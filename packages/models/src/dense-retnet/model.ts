import { type Tensor, tensorOf } from '@densessm/tensor';
import type { RuntimeOptions } from '../architecture.js';
import { ModelError } from '../errors.js';
import type { WeightPlacement } from '../graph/weight-binder.js';
import type {
  ForwardOutput,
  LanguageModel,
  OutputOptions,
  SequenceState,
  TokenTree,
  VerifyOutput,
} from '../language-model.js';
import { SessionCache } from '../session-cache.js';
import { ownState, PackedState } from '../state.js';
import { checkPath, checkTokens, treeDepths } from '../tree.js';
import type { ModelWeights } from '../weights.js';
import { type DenseRetNetConfig, retnetDims } from './config.js';
import { chain, type FeedContext, forwardFeeds, type SequenceNodes } from './feeds.js';
import {
  type BuiltGraph,
  buildCommitGraph,
  buildForwardGraph,
  type ForwardMode,
  RetNetGraphWeights,
} from './graphs.js';
import { headDecays, rotaryThetas } from './rotary.js';

/** What `verify` leaves for `commit`: the batch's per-node k'/v and where this sequence's nodes sit in it. */
interface RetNetDeltas {
  readonly model: DenseRetNetModel;
  readonly state: PackedState;
  /** The state's kv and position when verified; commit refuses a state that moved since. */
  readonly kv: Float32Array;
  readonly position: number;
  readonly parents: Int32Array;
  /** delta_k [L, H, total, dk] and delta_v [L, H, total, dv] of the whole verified batch. */
  readonly k: Float32Array;
  readonly v: Float32Array;
  readonly total: number;
  readonly offset: number;
}

const DEFAULT_PREFILL_CHUNK = 64;

/** `dense_retnet` on ONNX graphs: the LanguageModel contract (language-model.ts) over `graphs.ts`. */
export class DenseRetNetModel implements LanguageModel {
  readonly modelType = 'dense_retnet';
  private readonly dims;
  private readonly feedContext: FeedContext;
  private readonly graphWeights: RetNetGraphWeights;
  private readonly sessions: SessionCache;
  private readonly built = new Map<string, BuiltGraph>();
  private readonly placement: WeightPlacement;
  private readonly prefillChunk: number;

  constructor(
    readonly config: DenseRetNetConfig,
    weights: ModelWeights,
    options: RuntimeOptions,
  ) {
    this.dims = retnetDims(config);
    this.graphWeights = new RetNetGraphWeights(config, weights);
    this.feedContext = {
      dims: this.dims,
      gammas: headDecays(this.dims.H),
      thetas: rotaryThetas(this.dims.dk),
      embed: weights.get('model.embed_tokens.weight').data,
    };
    this.placement = options.weights ?? 'initializers';
    this.prefillChunk = options.prefillChunk ?? DEFAULT_PREFILL_CHUNK;
    if (!Number.isInteger(this.prefillChunk) || this.prefillChunk < 1) {
      throw new ModelError(
        'INVALID_INPUT',
        `prefillChunk must be a positive integer, got ${this.prefillChunk}`,
      );
    }
    this.sessions = new SessionCache(
      options.backend,
      options.threads === undefined ? {} : { threads: options.threads },
    );
  }

  get vocabSize(): number {
    return this.dims.V;
  }

  get hiddenSize(): number {
    return this.dims.d;
  }

  /** Bytes of one sequence's state: kv [L, H, dv, dk] fp32 (the count c is a function of the position). */
  get stateByteSize(): number {
    const { L, H, dv, dk } = this.dims;
    return L * H * dv * dk * 4;
  }

  newState(): PackedState {
    return new PackedState(this, { kv: new Float32Array(this.stateByteSize / 4) });
  }

  private graph(key: string, build: () => BuiltGraph): BuiltGraph {
    let g = this.built.get(key);
    if (!g) {
      g = build();
      this.built.set(key, g);
    }
    return g;
  }

  private async run(
    key: string,
    build: () => BuiltGraph,
    feeds: Record<string, Tensor>,
  ): Promise<Record<string, Tensor>> {
    const session = await this.sessions.get(key, () => this.graph(key, build).bytes);
    return session.run({ ...this.graph(key, build).weightFeeds, ...feeds });
  }

  private forward(mode: ForwardMode, seqs: readonly SequenceNodes[], logitRows: readonly number[]) {
    return this.run(
      mode,
      () => buildForwardGraph(this.graphWeights, mode, this.placement),
      forwardFeeds(this.feedContext, seqs, logitRows, mode === 'advance'),
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
    const nodes = seqs.map((s) => ({ ...s, ...chain(s.tokens.length) }));
    const ends: number[] = [];
    let total = 0;
    for (const s of seqs) {
      total += s.tokens.length;
      ends.push(total - 1);
    }
    const out = await this.forward('advance', nodes, ends);
    const kv = out.kv_out.data as Float32Array;
    const size = this.stateByteSize / 4;
    seqs.forEach((s, b) => {
      s.state.advance(
        { kv: seqs.length === 1 ? kv : kv.subarray(b * size, (b + 1) * size) },
        s.state.position + s.tokens.length,
      );
    });
    return this.rows(out, seqs.length, hidden);
  }

  async prefill(
    items: readonly { state: SequenceState; tokens: Int32Array }[],
    options: OutputOptions = {},
  ): Promise<ForwardOutput[]> {
    const seqs = items.map(({ state, tokens }, i) => {
      const where = `prefill (item ${i})`;
      if (tokens.length === 0)
        throw new ModelError('INVALID_INPUT', `${where}: no tokens; give at least one`);
      checkTokens(tokens, this.dims.V, where);
      return { state: ownState(state, this, where), tokens };
    });
    // One sequence per pass: prefill is compute-bound, so batching would only add cross-sequence work.
    const results: ForwardOutput[] = [];
    for (const s of seqs) {
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
    const seqs = items.map(({ state, token }, i) => {
      const where = `step (item ${i})`;
      checkTokens([token], this.dims.V, where);
      return { state: ownState(state, this, where), tokens: Int32Array.of(token) };
    });
    return this.advance(seqs, options.hidden === true);
  }

  async verify(
    items: readonly { state: SequenceState; tree: TokenTree }[],
    options: OutputOptions = {},
  ): Promise<VerifyOutput[]> {
    const seqs = items.map(({ state, tree }, i) => {
      const where = `verify (item ${i})`;
      const depths = treeDepths(tree, this.dims.V, this.dims.d, where);
      return {
        state: ownState(state, this, where),
        tokens: tree.tokens,
        parents: tree.parents,
        depths,
        embeddingOverrides: tree.embeddingOverrides,
      };
    });
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
      const deltas: RetNetDeltas = {
        model: this,
        state: s.state,
        kv: s.state.tensors.kv,
        position: s.state.position,
        parents: s.parents,
        k,
        v,
        total,
        offset,
      };
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
    const { L, H, dk, dv } = this.dims;
    // Validate everything before changing any state.
    const work = items.map(({ state, verified, path }, i) => {
      const where = `commit (item ${i})`;
      const own = ownState(state, this, where);
      const deltas = verified.deltas as RetNetDeltas;
      if (
        deltas?.model !== this ||
        deltas.state !== own ||
        deltas.kv !== own.tensors.kv ||
        deltas.position !== own.position
      ) {
        throw new ModelError(
          'INVALID_INPUT',
          `${where}: the verify output does not belong to this state as it is now; verify again after any state change`,
        );
      }
      checkPath(path, deltas.parents, where);
      return { state: own, deltas, path };
    });
    for (const { state, deltas, path } of work) {
      const P = path.length;
      if (P === 0) continue;
      const pathK = new Float32Array(L * H * P * dk);
      const pathV = new Float32Array(L * H * P * dv);
      for (let lh = 0; lh < L * H; lh++) {
        path.forEach((node, j) => {
          const row = lh * deltas.total + deltas.offset + node;
          pathK.set(deltas.k.subarray(row * dk, (row + 1) * dk), (lh * P + j) * dk);
          pathV.set(deltas.v.subarray(row * dv, (row + 1) * dv), (lh * P + j) * dv);
        });
      }
      // Path node j sits at depth j: weight gamma^(P-1-j), old state decays by gamma^P.
      const foldW = new Float32Array(H * P);
      const foldDecay = new Float32Array(H);
      for (let h = 0; h < H; h++) {
        const gamma = this.feedContext.gammas[h];
        for (let j = 0; j < P; j++) foldW[h * P + j] = gamma ** (P - 1 - j);
        foldDecay[h] = gamma ** P;
      }
      const out = await this.run('commit', () => buildCommitGraph(this.config), {
        kv_in: tensorOf('float32', [L, H, dv, dk], state.tensors.kv),
        path_k: tensorOf('float32', [L, H, P, dk], pathK),
        path_v: tensorOf('float32', [L, H, P, dv], pathV),
        fold_w: tensorOf('float32', [H, P, 1], foldW),
        fold_decay: tensorOf('float32', [H, 1, 1], foldDecay),
      });
      state.advance({ kv: out.kv_out.data as Float32Array }, state.position + P);
    }
  }

  async dispose(): Promise<void> {
    await this.sessions.dispose();
  }
}
