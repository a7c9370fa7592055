import type { Session, Tensor } from '@densessm/tensor';
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
import type { MambaConfig } from './config.js';
import {
  type BuiltGraph,
  buildCommitGraph,
  buildForwardGraph,
  commitKey,
  type ForwardSpec,
  forwardKey,
  IO,
} from './graph.js';
import { type ForestItem, type ForestLayout, forestLayout } from './layout.js';
import { type PreparedMamba, prepareMambaWeights } from './prepared.js';
import { mambaNames } from './weights.js';

const DEFAULT_PREFILL_CHUNK = 64;
/**
 * The scan is unrolled per tree level, so one decoding loop uses more graphs than the core's default 8: the step,
 * verify at 1..8 levels, commit at 1..8 levels, prefill chunk + tails. Fewer makes the LRU rebuild sessions every
 * round (measured: a step then costs ~260 ms). With weights as initializers each session holds its own copy of
 * the weights; `weights: 'inputs'` shares one.
 */
const MAX_SESSIONS = 24;

/** Per-node deltas of one verified tree, consumed by `commit` (opaque to callers). */
interface MambaDeltas {
  readonly position: number;
  readonly parents: Int32Array;
  /** PaSS lookahead nodes (own embedding): never committed. */
  readonly overridden: ReadonlySet<number>;
  /** node -> row of the batch outputs below. */
  readonly rowOf: Int32Array;
  readonly x: Float32Array;
  readonly dt: Float32Array;
  readonly dtx: Float32Array;
  readonly b: Float32Array;
}

const int64 = (dims: readonly number[], data: BigInt64Array): Tensor<'int64'> => ({
  dtype: 'int64',
  dims: [...dims],
  data,
});
const f32 = (dims: readonly number[], data: Float32Array): Tensor<'float32'> => ({
  dtype: 'float32',
  dims: [...dims],
  data,
});

/**
 * `mamba` / `dense_mamba` behind the LanguageModel contract (DESIGN.md section 4). States are `PackedState`s with
 * `conv [L, K-1, E]` (rows of past conv inputs, oldest first) and `ssm [L, N, E]` (README.md).
 */
export class MambaModel implements LanguageModel {
  readonly modelType: string;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  private readonly prepared: PreparedMamba;
  private readonly sessions: SessionCache;
  private readonly placement: WeightPlacement;
  private readonly prefillChunk: number;
  private readonly feedsOf = new Map<string, Readonly<Record<string, Tensor>>>();
  private readonly lmHead: Float32Array;

  constructor(
    readonly config: MambaConfig,
    weights: ModelWeights,
    options: RuntimeOptions,
  ) {
    this.modelType = config.modelType;
    this.vocabSize = config.vocabSize;
    this.hiddenSize = config.hiddenSize;
    this.prepared = prepareMambaWeights(config, weights);
    this.lmHead = weights.get(weights.has(mambaNames.lmHead) ? mambaNames.lmHead : mambaNames.embedding).data;
    this.sessions = new SessionCache(
      options.backend,
      options.threads === undefined ? {} : { threads: options.threads },
      MAX_SESSIONS,
    );
    this.placement = options.weights ?? 'initializers';
    this.prefillChunk = options.prefillChunk ?? DEFAULT_PREFILL_CHUNK;
    if (!Number.isInteger(this.prefillChunk) || this.prefillChunk < 1) {
      throw new ModelError(
        'INVALID_INPUT',
        `prefillChunk must be a positive integer, got ${this.prefillChunk}`,
      );
    }
  }

  private get convSize(): number {
    const c = this.config;
    return c.numLayers * (c.convKernel - 1) * c.intermediateSize;
  }

  private get ssmSize(): number {
    const c = this.config;
    return c.numLayers * c.intermediateSize * c.stateSize;
  }

  newState(): PackedState {
    return new PackedState(this, {
      conv: new Float32Array(this.convSize),
      ssm: new Float32Array(this.ssmSize),
    });
  }

  private async session(key: string, build: () => BuiltGraph): Promise<Session> {
    return this.sessions.get(key, () => {
      const built = build();
      this.feedsOf.set(key, built.feeds);
      return built.bytes;
    });
  }

  private async run(
    key: string,
    build: () => BuiltGraph,
    feeds: Record<string, Tensor>,
    outputs: readonly string[],
  ): Promise<Record<string, Tensor>> {
    const session = await this.session(key, build);
    // Index inputs a graph variant does not take (e.g. parents of uniform chains) are left out.
    const used: Record<string, Tensor> = { ...this.feedsOf.get(key) };
    for (const name of session.inputNames) if (feeds[name]) used[name] = feeds[name];
    return session.run(used, outputs);
  }

  private forward(spec: ForwardSpec, feeds: Record<string, Tensor>, outputs: readonly string[]) {
    return this.run(
      forwardKey(spec),
      () => buildForwardGraph(this.prepared, spec, this.placement),
      feeds,
      outputs,
    );
  }

  /** Packs the states of a batch into [S, L, ...] feeds. */
  private stateFeeds(states: readonly PackedState[]): Record<string, Tensor> {
    const c = this.config;
    // One sequence: its arrays already have the batch layout (states are immutable, so no copy is needed).
    const packed = (kind: 'conv' | 'ssm', size: number) => {
      if (states.length === 1) return states[0].tensors[kind];
      const out = new Float32Array(states.length * size);
      for (const [i, s] of states.entries()) out.set(s.tensors[kind], i * size);
      return out;
    };
    const S = states.length;
    return {
      [IO.conv]: f32([S, c.numLayers, c.convKernel - 1, c.intermediateSize], packed('conv', this.convSize)),
      [IO.ssm]: f32([S, c.numLayers, c.stateSize, c.intermediateSize], packed('ssm', this.ssmSize)),
    };
  }

  /** Swaps in each sequence's slice of the batch's new states (views, no copy). */
  private adoptStates(
    states: readonly PackedState[],
    out: Record<string, Tensor>,
    advanceBy: readonly number[],
  ): void {
    const conv = out[IO.convOut].data as Float32Array;
    const ssm = out[IO.ssmOut].data as Float32Array;
    states.forEach((s, i) => {
      s.advance(
        {
          conv: conv.subarray(i * this.convSize, (i + 1) * this.convSize),
          ssm: ssm.subarray(i * this.ssmSize, (i + 1) * this.ssmSize),
        },
        s.position + advanceBy[i],
      );
    });
  }

  /** Every index input a scan graph may take (`run` passes the ones its variant declares). */
  private layoutFeeds(layout: ForestLayout): Record<string, Tensor> {
    const K = this.config.convKernel;
    return {
      [IO.levelSizes]: int64([layout.levels], layout.levelSizes),
      [IO.parents]: int64([layout.nodeCount], layout.parents),
      [IO.convIndex]: int64([layout.nodeCount, K], layout.convIndex),
      [IO.lastIndex]: int64([layout.sequenceCount], layout.lastIndex),
      [IO.convOutIndex]: int64([layout.sequenceCount, K - 1], layout.convOutIndex),
    };
  }

  /**
   * The input rows [T, d] in the layout's row order: each node's token embedding, or its own vector when the
   * tree overrides it (PaSS lookahead nodes).
   */
  private embeds(
    layout: ForestLayout,
    tokens: readonly ArrayLike<number>[],
    overrides: readonly (TokenTree['embeddingOverrides'] | undefined)[] = [],
  ): Tensor<'float32'> {
    const d = this.hiddenSize;
    const table = this.prepared.embedding.tensor.data;
    const own = overrides.map((o) => new Map(o ? Array.from(o.nodes, (node, k) => [node, k]) : []));
    const out = new Float32Array(layout.nodeCount * d);
    for (let row = 0; row < layout.nodeCount; row++) {
      const s = layout.seqOfRow[row];
      const node = layout.nodeOfRow[row];
      const k = own[s]?.get(node);
      const src =
        k === undefined
          ? table.subarray(tokens[s][node] * d, (tokens[s][node] + 1) * d)
          : overrides[s]!.vectors.subarray(k * d, (k + 1) * d);
      out.set(src, row * d);
    }
    return f32([layout.nodeCount, d], out);
  }

  private rows(t: Tensor, width: number, row: number): Float32Array {
    return (t.data as Float32Array).slice(row * width, (row + 1) * width);
  }

  async prefill(
    items: readonly { state: SequenceState; tokens: Int32Array }[],
    options: OutputOptions = {},
  ): Promise<ForwardOutput[]> {
    const states = items.map((it, i) => ownState(it.state, this, `prefill item ${i}`));
    items.forEach((it, i) => {
      if (it.tokens.length === 0)
        throw new ModelError('INVALID_INPUT', `prefill item ${i}: no tokens; give at least one`);
      checkTokens(it.tokens, this.vocabSize, `prefill item ${i}`);
    });
    const results: ForwardOutput[] = new Array(items.length);
    const done = new Array<number>(items.length).fill(0);
    const outputs = options.hidden
      ? [IO.logits, IO.hidden, IO.convOut, IO.ssmOut]
      : [IO.logits, IO.convOut, IO.ssmOut];
    for (;;) {
      const active = items.map((_, i) => i).filter((i) => done[i] < items[i].tokens.length);
      if (active.length === 0) break;
      const longest = Math.max(...active.map((i) => items[i].tokens.length - done[i]));
      // Full chunks, then power-of-two tails: at most log2(prefillChunk) + 2 compiled prefill graphs.
      let levels = this.prefillChunk;
      if (longest < levels) levels = 2 ** Math.floor(Math.log2(longest));
      const pieces = active.map((i) =>
        items[i].tokens.subarray(done[i], done[i] + Math.min(levels, items[i].tokens.length - done[i])),
      );
      const layout = forestLayout(
        pieces.map(
          (p): ForestItem => ({ parents: Int32Array.from(p, (_, j) => j - 1), lastNode: p.length - 1 }),
        ),
        this.config.convKernel,
      );
      const spec: ForwardSpec = {
        levels,
        step: false,
        uniform: layout.uniform,
        newState: true,
        deltas: false,
        logits: 'last',
      };
      const out = await this.forward(
        spec,
        {
          [IO.embeds]: this.embeds(layout, pieces),
          ...this.layoutFeeds(layout),
          ...this.stateFeeds(active.map((i) => states[i])),
        },
        outputs,
      );
      this.adoptStates(
        active.map((i) => states[i]),
        out,
        pieces.map((p) => p.length),
      );
      active.forEach((i, s) => {
        done[i] += pieces[s].length;
        if (done[i] === items[i].tokens.length) {
          results[i] = {
            logits: this.rows(out[IO.logits], this.vocabSize, s),
            hidden: options.hidden ? this.rows(out[IO.hidden], this.hiddenSize, s) : undefined,
          };
        }
      });
    }
    return results;
  }

  async step(
    items: readonly { state: SequenceState; token: number }[],
    options: OutputOptions = {},
  ): Promise<ForwardOutput[]> {
    const states = items.map((it, i) => ownState(it.state, this, `step item ${i}`));
    checkTokens(
      items.map((it) => it.token),
      this.vocabSize,
      'step',
    );
    const spec: ForwardSpec = {
      levels: 1,
      step: true,
      uniform: true,
      newState: true,
      deltas: false,
      logits: 'all',
    };
    const outputs = options.hidden
      ? [IO.logits, IO.hidden, IO.convOut, IO.ssmOut]
      : [IO.logits, IO.convOut, IO.ssmOut];
    const out = await this.forward(
      spec,
      {
        [IO.embeds]: this.embeds(
          forestLayout(
            items.map(() => ({ parents: [-1], lastNode: 0 })),
            this.config.convKernel,
          ),
          items.map((it) => [it.token]),
        ),
        ...this.stateFeeds(states),
      },
      outputs,
    );
    this.adoptStates(
      states,
      out,
      items.map(() => 1),
    );
    return items.map((_, s) => ({
      logits: this.rows(out[IO.logits], this.vocabSize, s),
      hidden: options.hidden ? this.rows(out[IO.hidden], this.hiddenSize, s) : undefined,
    }));
  }

  async verify(
    items: readonly { state: SequenceState; tree: TokenTree }[],
    options: OutputOptions = {},
  ): Promise<VerifyOutput[]> {
    const states = items.map((it, i) => ownState(it.state, this, `verify item ${i}`));
    for (const [i, it] of items.entries())
      treeDepths(it.tree, this.vocabSize, this.hiddenSize, `verify item ${i}`);
    const layout = forestLayout(
      items.map((it) => ({ parents: it.tree.parents, lastNode: 0 })),
      this.config.convKernel,
    );
    const spec: ForwardSpec = {
      levels: layout.levels,
      step: false,
      uniform: layout.uniform,
      newState: false,
      deltas: true,
      logits: 'all',
    };
    const outputs: string[] = [IO.logits, IO.deltaX, IO.deltaDt, IO.deltaDtx, IO.deltaB];
    if (options.hidden) outputs.push(IO.hidden);
    const out = await this.forward(
      spec,
      {
        [IO.embeds]: this.embeds(
          layout,
          items.map((it) => it.tree.tokens),
          items.map((it) => it.tree.embeddingOverrides),
        ),
        ...this.layoutFeeds(layout),
        ...this.stateFeeds(states),
      },
      outputs,
    );
    const data = (name: string) => out[name].data as Float32Array;
    return items.map((it, s) => {
      const rowOf = layout.rowOf[s];
      const n = rowOf.length;
      const gather = (t: Tensor, width: number) => {
        const dst = new Float32Array(n * width);
        for (let i = 0; i < n; i++)
          dst.set((t.data as Float32Array).subarray(rowOf[i] * width, (rowOf[i] + 1) * width), i * width);
        return dst;
      };
      const deltas: MambaDeltas = {
        position: states[s].position,
        parents: it.tree.parents,
        overridden: new Set(it.tree.embeddingOverrides?.nodes ?? []),
        rowOf,
        x: data(IO.deltaX),
        dt: data(IO.deltaDt),
        dtx: data(IO.deltaDtx),
        b: data(IO.deltaB),
      };
      return {
        nodeCount: n,
        logits: gather(out[IO.logits], this.vocabSize),
        hidden: options.hidden ? gather(out[IO.hidden], this.hiddenSize) : undefined,
        deltas,
      };
    });
  }

  async commit(
    items: readonly { state: SequenceState; verified: VerifyOutput; path: readonly number[] }[],
  ): Promise<void> {
    const { numLayers: L, intermediateSize: E, stateSize: N, convKernel: K } = this.config;
    const work = items
      .map((it, i) => {
        const state = ownState(it.state, this, `commit item ${i}`);
        const deltas = it.verified.deltas as MambaDeltas;
        if (!deltas || !(deltas.rowOf instanceof Int32Array)) {
          throw new ModelError(
            'INVALID_PATH',
            `commit item ${i}: 'verified' is not a verify output of this model`,
          );
        }
        if (deltas.position !== state.position) {
          throw new ModelError(
            'INVALID_PATH',
            `commit item ${i}: the state is at position ${state.position} but the tree was verified at ${deltas.position}; commit each verify once, to the state it verified`,
          );
        }
        checkPath(it.path, deltas.parents, `commit item ${i}`);
        const lookahead = it.path.find((node) => deltas.overridden.has(node));
        if (lookahead !== undefined) {
          throw new ModelError(
            'INVALID_PATH',
            `commit item ${i}: node ${lookahead} is a lookahead node (embeddingOverrides); those are never committed`,
          );
        }
        return { state, deltas, path: it.path };
      })
      .filter((w) => w.path.length > 0);
    if (work.length === 0) return;
    const layout = forestLayout(
      work.map(
        (w): ForestItem => ({
          parents: Int32Array.from(w.path, (_, j) => j - 1),
          lastNode: w.path.length - 1,
        }),
      ),
      K,
    );
    const P = layout.nodeCount;
    const x = new Float32Array(P * L * E);
    const dt = new Float32Array(P * L * E);
    const dtx = new Float32Array(P * L * E);
    const b = new Float32Array(P * L * N);
    work.forEach((w, s) => {
      w.path.forEach((node, j) => {
        const src = w.deltas.rowOf[node];
        const dst = layout.rowOf[s][j];
        x.set(w.deltas.x.subarray(src * L * E, (src + 1) * L * E), dst * L * E);
        dt.set(w.deltas.dt.subarray(src * L * E, (src + 1) * L * E), dst * L * E);
        dtx.set(w.deltas.dtx.subarray(src * L * E, (src + 1) * L * E), dst * L * E);
        b.set(w.deltas.b.subarray(src * L * N, (src + 1) * L * N), dst * L * N);
      });
    });
    const levels = layout.levels;
    const out = await this.run(
      commitKey(levels, layout.uniform),
      () => buildCommitGraph(this.prepared, levels, layout.uniform, this.placement),
      {
        [IO.deltaX]: f32([P, L, E], x),
        [IO.deltaDt]: f32([P, L, E], dt),
        [IO.deltaDtx]: f32([P, L, E], dtx),
        [IO.deltaB]: f32([P, L, N], b),
        ...this.layoutFeeds(layout),
        ...this.stateFeeds(work.map((w) => w.state)),
      },
      [IO.convOut, IO.ssmOut],
    );
    this.adoptStates(
      work.map((w) => w.state),
      out,
      work.map((w) => w.path.length),
    );
  }

  lmHeadWeights(): Float32Array {
    return this.lmHead;
  }

  async dispose(): Promise<void> {
    await this.sessions.dispose();
  }
}
