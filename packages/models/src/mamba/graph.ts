import { GraphBuilder, type Tensor, type Value } from '@densessm/tensor';
import {
  concat,
  constI64,
  linear,
  pick,
  reduceSum,
  reshape,
  rmsNorm,
  silu,
  softplus,
  split,
  unsqueeze,
} from '../graph/ops.js';
import { WeightBinder, type WeightPlacement } from '../graph/weight-binder.js';
import type { MambaConfig } from './config.js';
import type { GraphWeight, PreparedLayer, PreparedMamba } from './prepared.js';

/** Input / output names of the Mamba graphs (layouts in README.md). */
export const IO = {
  embeds: 'inputs_embeds',
  conv: 'conv_state',
  ssm: 'ssm_state',
  levelSizes: 'level_sizes',
  parents: 'parents',
  convIndex: 'conv_index',
  lastIndex: 'last_index',
  convOutIndex: 'conv_out_index',
  logits: 'logits',
  hidden: 'hidden',
  convOut: 'conv_state_out',
  ssmOut: 'ssm_state_out',
  deltaX: 'delta_x',
  deltaDt: 'delta_dt',
  deltaDtx: 'delta_dtx',
  deltaB: 'delta_b',
} as const;

/** What one forward graph computes (its session-cache key). */
export interface ForwardSpec {
  /** Number of tree levels (max depth + 1) the scan is unrolled over. */
  readonly levels: number;
  /** One node per sequence, no index inputs (the specialised decode step; levels must be 1). */
  readonly step: boolean;
  /** Equal-length chains, one node per sequence per level (see `Forest`): no parent indices. */
  readonly uniform: boolean;
  /** Emit the states after each sequence's `last_index` node (prefill, step). */
  readonly newState: boolean;
  /** Emit the per-node deltas that `commit` folds in (verify). */
  readonly deltas: boolean;
  /** Logits for every node, or only each sequence's last node. */
  readonly logits: 'all' | 'last';
}

export function forwardKey(s: ForwardSpec): string {
  const outputs = [s.newState ? 'state' : '', s.deltas ? 'deltas' : ''].join('');
  const shape = s.step ? 'step' : `${s.uniform ? 'chains' : 'forest'}${s.levels}`;
  return `mamba:${shape}:${outputs}:${s.logits}`;
}

export function commitKey(levels: number, uniform: boolean): string {
  return `mamba:commit:${uniform ? 'chains' : 'forest'}${levels}`;
}

export interface BuiltGraph {
  readonly bytes: Uint8Array;
  /** Op types used (tests hold them to PORTABLE_OPS). */
  readonly ops: ReadonlySet<string>;
  /** Weight feeds to pass on every run (empty for initializer placement). */
  readonly feeds: Readonly<Record<string, Tensor>>;
}

class Ctx {
  readonly g: GraphBuilder;
  private readonly w: WeightBinder;
  constructor(
    name: string,
    placement: WeightPlacement,
    readonly config: MambaConfig,
  ) {
    this.g = new GraphBuilder(name);
    this.w = new WeightBinder(this.g, placement);
  }
  use(weight: GraphWeight): Value {
    return this.w.use(weight.name, weight.tensor);
  }
  /** `x @ W^T (+ b)` with the prepared transposed weight. */
  linear(x: Value, weight: GraphWeight, bias?: GraphWeight): Value {
    const y = linear(this.g, x, this.use(weight));
    return bias ? this.g.op('Add', [y, this.use(bias)]) : y;
  }
  built(): BuiltGraph {
    return { bytes: this.g.toBytes(), ops: this.g.opTypes(), feeds: this.w.feeds };
  }
}

/**
 * Tree / forest index inputs shared by every layer of a scan graph. `uniform`: every level holds one node per
 * sequence in sequence order (equal-length chains: prefill of one prompt, the decode step, commit of one path),
 * so a node's parent is the same row of the previous level and no parent indices are needed.
 */
interface Forest {
  readonly levels: number;
  readonly levelSizes?: Value;
  /** Per level: the parent row of each node (its sequence at level 0); absent when uniform. */
  readonly parents?: Value[];
}

function forestInputs(g: GraphBuilder, levels: number, uniform: boolean): Forest {
  const levelSizes = levels > 1 ? g.input(IO.levelSizes, 'int64', [levels]) : undefined;
  if (uniform) return { levels, levelSizes };
  const parents = g.input(IO.parents, 'int64', ['nodes']);
  return {
    levels,
    levelSizes,
    parents: levelSizes ? g.opN('Split', [parents, levelSizes], levels, { axis: 0 }) : [parents],
  };
}

/**
 * The selective scan over a level-ordered forest (SPEC.md, "Tree verification"): per level,
 * dA = exp(dt A), u = (dt xc) B and h_i = dA_i * h_parent(i) + u_i, roots reading the committed state h0.
 * Exact for any decay magnitude: no exp(+x) factor can overflow. States are laid out [N, E] (E innermost), so
 * every broadcast runs over spans of E contiguous floats ([E, N] made them spans of N = 16: 5-10x slower Muls on
 * onnxruntime CPU). [n, N, E] tensors exist only per level (7 ops); y_i = C_i h_i is a batched [1, N] x [N, E]
 * MatMul per level. Returns y [T, E] (when C is given), every node's state [T, N, E] (when `allStates`) and the
 * last level's states, all level-ordered.
 */
function selectiveScan(
  c: Ctx,
  forest: Forest,
  layer: PreparedLayer,
  inputs: { dt: Value; dtx: Value; b: Value; c?: Value; h0: Value },
  allStates: boolean,
): { y?: Value; states?: Value; last: Value } {
  const { g } = c;
  const { levels, levelSizes, parents } = forest;
  // dt, dt xc: [T, 1, E]; B: [T, N, 1]; C: [T, 1, N]; cut into levels.
  const parts = (v: Value | undefined, axis: number): Value[] => {
    if (v === undefined) return [];
    const v3 = unsqueeze(g, v, [axis]);
    return levelSizes ? g.opN('Split', [v3, levelSizes], levels, { axis: 0 }) : [v3];
  };
  const [dts, dtxs, bs, cs] = [
    parts(inputs.dt, 1),
    parts(inputs.dtx, 1),
    parts(inputs.b, 2),
    parts(inputs.c, 1),
  ];
  const ys: Value[] = [];
  const hs: Value[] = [];
  let prev = inputs.h0;
  for (let l = 0; l < levels; l++) {
    const dA = g.op('Exp', [g.op('Mul', [dts[l], c.use(layer.a)])]);
    const u = g.op('Mul', [dtxs[l], bs[l]]);
    const hp = parents ? g.op('Gather', [prev, parents[l]], { axis: 0 }) : prev;
    prev = g.op('Add', [g.op('Mul', [dA, hp]), u]);
    hs.push(prev);
    if (cs.length > 0) ys.push(g.op('MatMul', [cs[l], prev]));
  }
  return {
    y: ys.length > 0 ? reshape(g, concat(g, ys, 0), [-1, c.config.intermediateSize]) : undefined,
    states: allStates ? concat(g, hs, 0) : undefined,
    last: prev,
  };
}

/** Stacks per-layer tensors [rows, ...rest] into [rows, L, ...rest] (one Concat + a free Reshape). */
function stackLayers(c: Ctx, perLayer: readonly Value[], rest: readonly number[]): Value {
  return reshape(c.g, concat(c.g, perLayer, 1), [-1, c.config.numLayers, ...rest]);
}

/** Layer l's committed conv rows [S, K-1, E] as window-table rows [S*(K-1), E]. */
function committedRows(c: Ctx, conv: Value, l: number): Value {
  return reshape(c.g, pick(c.g, conv, l, 1), [-1, c.config.intermediateSize]);
}

/**
 * The forward graph for a ragged batch of token forests (SPEC.md `mamba` / `dense_mamba`): prefill chunks (chains,
 * new state, last logits), verify (trees, per-node logits + deltas) and the one-token step.
 */
export function buildForwardGraph(
  p: PreparedMamba,
  spec: ForwardSpec,
  placement: WeightPlacement,
): BuiltGraph {
  const cfg = p.config;
  const {
    intermediateSize: E,
    stateSize: N,
    timeStepRank: R,
    convKernel: K,
    numLayers: L,
    layerNormEpsilon: eps,
  } = cfg;
  const c = new Ctx(forwardKey(spec), placement, cfg);
  const { g } = c;
  // Embedding rows come from JavaScript (a copy of T rows), so PaSS lookahead nodes can carry their own vectors.
  let h = g.input(IO.embeds, 'float32', ['nodes', cfg.hiddenSize]);
  const conv = g.input(IO.conv, 'float32', ['sequences', L, K - 1, E]);
  const ssm = g.input(IO.ssm, 'float32', ['sequences', L, N, E]);
  const uniform = spec.uniform || spec.step;
  const forest = forestInputs(g, spec.levels, uniform);
  const convIndex = spec.step ? undefined : g.input(IO.convIndex, 'int64', ['nodes', K]);
  const needsLast = !spec.step && ((spec.newState && !uniform) || spec.logits === 'last');
  const lastIndex = needsLast ? g.input(IO.lastIndex, 'int64', ['sequences']) : undefined;
  const convOutIndex =
    !spec.step && spec.newState ? g.input(IO.convOutIndex, 'int64', ['sequences', K - 1]) : undefined;

  const xCur: Value[] = [];
  const convOut: Value[] = [];
  const ssmOut: Value[] = [];
  const deltas = { x: [] as Value[], dt: [] as Value[], dtx: [] as Value[], b: [] as Value[] };
  for (let l = 0; l < L; l++) {
    const layer = p.layers[l];
    const u = rmsNorm(g, h, c.use(layer.norm), eps);
    const [xRaw, z] = split(g, c.linear(u, layer.inProj, layer.inProjBias), [E, E], 1);
    xCur.push(xRaw);
    let x = xRaw;
    if (layer.dense) {
      // x <- RMSNorm_{x_norm}(x + silu(select(u)) * sum of layers l-1..l-m's x_cur) (SPEC.md dense_mamba).
      const gate = silu(g, c.linear(silu(g, c.linear(u, layer.dense.fc1)), layer.dense.fc2));
      const past = layer.dense.sources.map((s) => xCur[s]).reduce((a, b) => g.op('Add', [a, b]));
      x = rmsNorm(g, g.op('Add', [x, g.op('Mul', [gate, past])]), c.use(layer.dense.norm), eps);
    }
    // Causal conv: each node's K inputs (oldest first) along its ancestor chain, then the committed rows.
    let window: Value;
    if (spec.step) {
      window = concat(g, [pick(g, conv, l, 1), unsqueeze(g, x, [1])], 1);
      if (spec.newState)
        convOut.push(g.op('Slice', [window, constI64(g, [1]), constI64(g, [K]), constI64(g, [1])]));
    } else {
      const table = concat(g, [committedRows(c, conv, l), x], 0);
      window = g.op('Gather', [table, convIndex!], { axis: 0 });
      if (convOutIndex) convOut.push(g.op('Gather', [table, convOutIndex], { axis: 0 }));
    }
    let convSum = reduceSum(g, g.op('Mul', [window, c.use(layer.conv)]), [1], false);
    if (layer.convBias) convSum = g.op('Add', [convSum, c.use(layer.convBias)]);
    const xc = silu(g, convSum);

    const [dtr, b, cMat] = split(g, c.linear(xc, layer.xProj), [R, N, N], 1);
    const dt = softplus(g, c.linear(dtr, layer.dtProj, layer.dtBias));
    const dtx = g.op('Mul', [dt, xc]);
    const scan = selectiveScan(
      c,
      forest,
      layer,
      { dt, dtx, b, c: cMat, h0: pick(g, ssm, l, 1) },
      spec.newState && !uniform,
    );
    // Each sequence's state after its last node: the last level when uniform, else gathered by row.
    if (spec.newState)
      ssmOut.push(uniform ? scan.last : g.op('Gather', [scan.states!, lastIndex!], { axis: 0 }));
    if (spec.deltas) {
      deltas.x.push(x);
      deltas.dt.push(dt);
      deltas.dtx.push(dtx);
      deltas.b.push(b);
    }
    // y = C . h + D xc; out = out_proj(y * silu(z)).
    const y = g.op('Add', [scan.y!, g.op('Mul', [xc, c.use(layer.d)])]);
    h = g.op('Add', [h, c.linear(g.op('Mul', [y, silu(g, z)]), layer.outProj, layer.outProjBias)]);
  }
  const rows = spec.logits === 'last' && lastIndex ? g.op('Gather', [h, lastIndex], { axis: 0 }) : h;
  const hidden = rmsNorm(g, rows, c.use(p.normF), eps);
  const outRows = spec.logits === 'last' ? 'sequences' : 'nodes';
  g.output(linear(g, hidden, c.use(p.lmHead)), IO.logits, 'float32', [outRows, cfg.vocabSize]);
  g.output(hidden, IO.hidden, 'float32', [outRows, cfg.hiddenSize]);
  if (spec.newState) {
    g.output(stackLayers(c, convOut, [K - 1, E]), IO.convOut, 'float32', ['sequences', L, K - 1, E]);
    g.output(stackLayers(c, ssmOut, [N, E]), IO.ssmOut, 'float32', ['sequences', L, N, E]);
  }
  if (spec.deltas) {
    g.output(stackLayers(c, deltas.x, [E]), IO.deltaX, 'float32', ['nodes', L, E]);
    g.output(stackLayers(c, deltas.dt, [E]), IO.deltaDt, 'float32', ['nodes', L, E]);
    g.output(stackLayers(c, deltas.dtx, [E]), IO.deltaDtx, 'float32', ['nodes', L, E]);
    g.output(stackLayers(c, deltas.b, [N]), IO.deltaB, 'float32', ['nodes', L, N]);
  }
  return c.built();
}

/**
 * The commit graph: folds each sequence's accepted path (a chain, level-ordered like a forest) into its state
 * from the verify deltas alone: conv rows = the last K-1 x along the path (then committed rows), ssm = the scan
 * of dA = exp(dt A), u = (dt xc) B along the path. No projection is recomputed.
 */
export function buildCommitGraph(
  p: PreparedMamba,
  levels: number,
  uniform: boolean,
  placement: WeightPlacement,
): BuiltGraph {
  const { intermediateSize: E, stateSize: N, convKernel: K, numLayers: L } = p.config;
  const c = new Ctx(commitKey(levels, uniform), placement, p.config);
  const { g } = c;
  const conv = g.input(IO.conv, 'float32', ['sequences', L, K - 1, E]);
  const ssm = g.input(IO.ssm, 'float32', ['sequences', L, N, E]);
  const dx = g.input(IO.deltaX, 'float32', ['nodes', L, E]);
  const ddt = g.input(IO.deltaDt, 'float32', ['nodes', L, E]);
  const ddtx = g.input(IO.deltaDtx, 'float32', ['nodes', L, E]);
  const db = g.input(IO.deltaB, 'float32', ['nodes', L, N]);
  const forest = forestInputs(g, levels, uniform);
  const lastIndex = uniform ? undefined : g.input(IO.lastIndex, 'int64', ['sequences']);
  const convOutIndex = g.input(IO.convOutIndex, 'int64', ['sequences', K - 1]);
  const convOut: Value[] = [];
  const ssmOut: Value[] = [];
  for (let l = 0; l < L; l++) {
    const table = concat(g, [committedRows(c, conv, l), pick(g, dx, l, 1)], 0);
    convOut.push(g.op('Gather', [table, convOutIndex], { axis: 0 }));
    const inputs = {
      dt: pick(g, ddt, l, 1),
      dtx: pick(g, ddtx, l, 1),
      b: pick(g, db, l, 1),
      h0: pick(g, ssm, l, 1),
    };
    const { states, last } = selectiveScan(c, forest, p.layers[l], inputs, !uniform);
    ssmOut.push(lastIndex ? g.op('Gather', [states!, lastIndex], { axis: 0 }) : last);
  }
  g.output(stackLayers(c, convOut, [K - 1, E]), IO.convOut, 'float32', ['sequences', L, K - 1, E]);
  g.output(stackLayers(c, ssmOut, [N, E]), IO.ssmOut, 'float32', ['sequences', L, N, E]);
  return c.built();
}
