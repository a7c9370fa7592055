import type { DraftTree } from './draft-tree.js';
import { SpeculativeError } from './errors.js';

export interface AdaptiveOptions {
  /**
   * Cost of one more tree node in a target pass, as a fraction of one sequence's one-token pass, assumed
   * before (or, with `measureCost: false`, instead of) measuring. Default 0.07: on CPU a DenseRetNet verify
   * costs about 0.07 step per extra node at batch 1 (bench/results/models-*.json).
   */
  nodeCost?: number;
  /**
   * Fit the pass cost curve to measured round times (default true). Off, tree shapes depend only on the
   * tokens, never on timing, so a seeded sampling run is reproducible run to run.
   */
  measureCost?: boolean;
  /**
   * Every this many rounds a sequence whose drafts were all cut still verifies its best one (default 8), so a
   * drafter that stopped paying keeps being measured and is taken back when it pays again.
   */
  probeEvery?: number;
}

/** Calibration bins per source set: priorities 1, 2^-1/2, 2^-1, ... down to 2^-(bins-1)/2. */
const bins = 24;
/** Weight of the drafter's own priority as a prior (pseudo-observations per bin). */
const priorWeight = 2;
/** Per-observation decay of a bin's counts: about the last 50 nodes of a bin count. */
const forgetting = 0.98;

function binOf(priority: number): number {
  if (!(priority > 0)) return bins - 1;
  return Math.min(bins - 1, Math.max(0, Math.floor(-2 * Math.log2(Math.min(priority, 1)))));
}

/**
 * Turns drafters' node priorities into measured acceptance probabilities: for every (drafter set, priority
 * bin) the decayed fraction of verified nodes that ended on the accepted path, with the priority itself as a
 * prior. Drafters score on different scales (prompt lookup by match length, Token Recycling by template rank,
 * a draft model by its own probabilities); after calibration their nodes compete on one scale, and a node that
 * several drafters proposed is calibrated on its own.
 */
export class AcceptanceCalibration {
  private readonly counts = new Map<number, Float64Array>();

  /**
   * P(node accepted) for every node of `tree` (root 1), made monotone: never above its parent, nor above an
   * earlier sibling of the same sampled group (so cuts keep a without-replacement group's draw order).
   */
  estimate(tree: DraftTree): Float64Array {
    const p = new Float64Array(tree.size);
    p[0] = 1;
    for (let n = 1; n < tree.size; n++) {
      const parent = tree.parents[n];
      let value =
        tree.lookahead[n] !== undefined ? p[parent] : this.rate(tree.sources[n], tree.priorities[n]);
      value = Math.min(value, p[parent]);
      const group = tree.proposals[n]?.distribution;
      if (group) {
        // The previous draw of the same group (other drafters' nodes may sit between them).
        const siblings = tree.children(parent);
        for (let k = siblings.indexOf(n) - 1; k >= 0; k--) {
          if (tree.proposals[siblings[k]]?.distribution === group) {
            value = Math.min(value, p[siblings[k]]);
            break;
          }
        }
      }
      p[n] = value;
    }
    return p;
  }

  /** Records which verified nodes were accepted (`path`: root first). */
  observe(tree: DraftTree, path: readonly number[]): void {
    const accepted = new Set(path);
    for (let n = 1; n < tree.size; n++) {
      if (tree.lookahead[n] !== undefined) continue;
      const row = this.row(tree.sources[n]);
      const bin = binOf(tree.priorities[n]);
      row[2 * bin] = row[2 * bin] * forgetting + 1;
      row[2 * bin + 1] = row[2 * bin + 1] * forgetting + (accepted.has(n) ? 1 : 0);
    }
  }

  private rate(sources: number, priority: number): number {
    const row = this.counts.get(sources);
    const prior = Math.min(Math.max(priority, 0), 1);
    if (!row) return prior;
    const bin = binOf(priority);
    return (row[2 * bin + 1] + priorWeight * prior) / (row[2 * bin] + priorWeight);
  }

  private row(sources: number): Float64Array {
    let row = this.counts.get(sources);
    if (!row) {
      row = new Float64Array(2 * bins);
      this.counts.set(sources, row);
    }
    return row;
  }
}

/**
 * A round's cost in milliseconds for the current batch size: a plain step costs `base`; a verify pass costs
 * `base + jump + perNode * draftNodes` (the jump: what a tree pass costs beyond a step, e.g. per-slot state
 * reads), and asking the drafter adds `drafting`.
 */
export interface PassCost {
  readonly base: number;
  readonly jump: number;
  readonly perNode: number;
  readonly drafting: number;
}

/** Decay of the cost fit's sums per round: about the last 30 rounds count. */
const costForgetting = 0.97;
/** Regressors of a round's pass time: [1, batch size, verified a tree, draft nodes]. */
const features = 4;

/** Solves `m x = v` (m row-major n x n, positive definite here) by Gaussian elimination with pivoting. */
function solve(m: Float64Array, v: Float64Array): Float64Array {
  const n = v.length;
  const a = Array.from({ length: n }, (_, i) => [...m.subarray(n * i, n * i + n), v[i]]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r][col]) > Math.abs(a[pivot][col])) pivot = r;
    [a[col], a[pivot]] = [a[pivot], a[col]];
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = a[r][col] / a[col][col];
      for (let k = col; k <= n; k++) a[r][k] -= f * a[col][k];
    }
  }
  return Float64Array.from(a, (row, i) => row[n] / row[i]);
}

/**
 * The measured cost of a round: an exponentially weighted ridge regression of target-pass time (verify or
 * step, and commit) on [1, batch size, verified a tree, draft nodes], shared by every batch size (sequences join
 * and leave all the time), and the running drafting time per asked sequence. The ridge pulls the intercept and
 * the jump toward 0 and the per-node slope toward `nodeCost` per-sequence costs, which decide while the data
 * cannot (a single batch size, or no plain rounds yet).
 */
export class PassCostModel {
  /** Weighted sums of x x^T and x t over rounds. */
  private readonly xx = new Float64Array(features * features);
  private readonly xt = new Float64Array(features);
  private rounds = 0;
  /** Per sequence, running time of a round outside the target pass, with and without asking the drafter. */
  private readonly overhead = { asked: Number.NaN, plain: Number.NaN };

  constructor(
    private readonly nodeCost: number,
    private readonly measure: boolean,
  ) {}

  get measuring(): boolean {
    return this.measure;
  }

  /**
   * One round: sequences, draft nodes verified, target-pass ms, the rest of the round's ms (drafting,
   * verdicts, drafters learning, bookkeeping) and whether the drafter was asked.
   */
  record(batchSize: number, draftNodes: number, passMs: number, otherMs: number, asked: boolean): void {
    if (!this.measure) return;
    // Pass times only err upward (session set-up on a new shape, GC, other load): a time far under the fit
    // means the fit holds such outliers and starts over; one far over an established fit counts as twice it.
    let t = passMs;
    if (this.rounds > 0) {
      const { base, jump, perNode } = this.curve(batchSize);
      const predicted = base + (draftNodes > 0 ? jump + perNode * draftNodes : 0);
      if (t < 0.5 * predicted) {
        this.xx.fill(0);
        this.xt.fill(0);
        this.rounds = 0;
      } else if (this.rounds >= 10) t = Math.min(t, 2 * predicted);
    }
    const x = [1, batchSize, draftNodes > 0 ? 1 : 0, draftNodes];
    for (let i = 0; i < features; i++) {
      this.xt[i] = this.xt[i] * costForgetting + x[i] * t;
      for (let j = 0; j < features; j++)
        this.xx[features * i + j] = this.xx[features * i + j] * costForgetting + x[i] * x[j];
    }
    this.rounds++;
    const kind = asked ? 'asked' : 'plain';
    const each = otherMs / batchSize;
    const last = this.overhead[kind];
    this.overhead[kind] = Number.isNaN(last) ? each : last + 0.2 * (each - last);
  }

  /** What asking the drafter adds to a round, per sequence: the extra time outside the target pass. */
  get draftingPerSequence(): number {
    const { asked, plain } = this.overhead;
    if (Number.isNaN(asked)) return 0;
    return Math.max(0, asked - (Number.isNaN(plain) ? 0 : plain));
  }

  /** The costs at `batchSize`, in milliseconds; in units of one sequence's one-token pass before any round. */
  curve(batchSize: number): PassCost {
    if (this.rounds === 0) return { base: batchSize, jump: 0, perNode: this.nodeCost, drafting: 0 };
    // Prior: no intercept and no jump, the mean time per sequence as the per-sequence cost, nodeCost of it
    // per node.
    const perSequence = this.xt[1] / Math.max(this.xx[features + 1], 1e-9);
    const prior = [0, perSequence, 0, this.nodeCost * perSequence];
    const ridge = [1e-3, 1e-3, 0.1, 16];
    const m = Float64Array.from(this.xx);
    const v = Float64Array.from(this.xt);
    for (let i = 0; i < features; i++) {
      m[(features + 1) * i] += ridge[i];
      v[i] += ridge[i] * prior[i];
    }
    const [a, c, jump, b] = solve(m, v);
    return {
      base: Math.max(a + c * batchSize, 1e-3),
      jump: Math.max(jump, 0),
      perNode: Math.max(b, 0),
      drafting: this.draftingPerSequence * batchSize,
    };
  }
}

/**
 * Sizes every round's trees to pay for themselves (the tree-size optimisation of Sequoia and SpecDec++, on
 * measured numbers): draft nodes of all sequences are taken best first by calibrated acceptance probability
 * p while p > perNode * T / C, where T = expected tokens (one per sequence plus the accepted drafts) and
 * C = the round's expected cost so far, i.e. while a node raises expected tokens per millisecond. A node
 * never joins without its parent. Where no draft pays, the round is a plain step: speculation switches
 * itself off (and on again) per round, for every batch size and drafter.
 */
export class SpeculationPolicy {
  readonly calibration = new AcceptanceCalibration();
  readonly costs: PassCostModel;
  private readonly probeEvery: number;
  /** Rounds finished (observed). */
  private rounds = 0;
  private nextThreshold: number | undefined;
  /** Running share of round time spent drafting. */
  private draftShare = 0;
  /** The last round (count) in which the drafter was asked. */
  private lastAsked = 0;

  constructor(options: AdaptiveOptions = {}) {
    const nodeCost = options.nodeCost ?? 0.07;
    this.probeEvery = options.probeEvery ?? 8;
    // probeEvery >= 2: plain probes sit half-way between draft probes, so 1 would make every round plain.
    if (!(nodeCost > 0 && Number.isInteger(this.probeEvery) && this.probeEvery >= 2)) {
      throw new SpeculativeError(
        'INVALID_OPTION',
        `adaptive needs nodeCost > 0 and an integer probeEvery >= 2, got ${nodeCost} and ${options.probeEvery}.`,
      );
    }
    this.costs = new PassCostModel(nodeCost, options.measureCost ?? true);
  }

  /**
   * Cuts each tree to the nodes that pay; returns the cut trees. A node stays when its parent stays and its
   * calibrated probability clears the threshold perNode * T / C, the optimum of the greedy choice above. The
   * threshold used is the one the previous round's trees gave, so nothing drawn in this round moves it, and
   * each node is judged on its own: whether a node is verified never depends on a random draw it is tested
   * before, which keeps recursive rejection sampling over the cut tree lossless.
   */
  select(trees: readonly DraftTree[]): DraftTree[] {
    const probs = trees.map((t) => this.calibration.estimate(t));
    const cost = this.costs.curve(trees.length);
    // Before any round: the threshold of an empty choice, perNode * B / base.
    const threshold = this.nextThreshold ?? (cost.perNode * trees.length) / cost.base;
    this.nextThreshold = this.threshold(trees, probs, cost);
    const probe = this.probing;
    const keeps = trees.map((t, i) => {
      const keep = new Uint8Array(t.size);
      keep[0] = 1;
      // The probe: the first (best-ranked) draft below the root, whatever its estimate.
      const first = probe ? t.children(0).find((n) => t.lookahead[n] === undefined) : undefined;
      for (let n = 1; n < t.size; n++)
        keep[n] = keep[t.parents[n]] && (probs[i][n] > threshold || n === first) ? 1 : 0;
      return keep;
    });
    if (
      !probe &&
      trees.every((t) => t.proposals.every((q) => q === undefined)) &&
      !this.paysThisRound(trees, probs, keeps, cost)
    )
      for (const keep of keeps) keep.fill(0, 1);
    return trees.map((t, i) => t.prune(keeps[i]));
  }

  /**
   * Whether the kept nodes beat a plain step, counting what a tree pass costs beyond one (the drafter's time is
   * spent already). Only for draw-free trees: with sampled drafts, a cut may not depend on this round's draws.
   */
  private paysThisRound(
    trees: readonly DraftTree[],
    probs: readonly Float64Array[],
    keeps: readonly Uint8Array[],
    { base, jump, perNode }: PassCost,
  ): boolean {
    let tokens = trees.length;
    let nodes = 0;
    trees.forEach((t, i) => {
      for (let n = 1; n < t.size; n++) {
        if (!keeps[i][n]) continue;
        nodes++;
        if (t.lookahead[n] === undefined) tokens += probs[i][n];
      }
    });
    return nodes === 0 || tokens / (base + jump + perNode * nodes) > trees.length / base;
  }

  /**
   * perNode * T / C after greedily taking, best first, the nodes of all trees that raise T / C, counting the
   * drafter's own time in C; Infinity (cut everything: plain steps) when the nodes worth taking still do not
   * beat plain decoding's rate, B / base.
   */
  private threshold(
    trees: readonly DraftTree[],
    probs: readonly Float64Array[],
    { base, jump, perNode, drafting }: PassCost,
  ): number {
    const candidates: number[] = [];
    trees.forEach((t, i) => {
      for (let n = 1; n < t.size; n++) if (t.lookahead[n] === undefined) candidates.push(probs[i][n]);
    });
    candidates.sort((a, b) => b - a);
    let tokens = trees.length;
    let cost = base + jump + drafting;
    for (const p of candidates) {
      if (p <= (perNode * tokens) / cost) break;
      tokens += p;
      cost += perNode;
    }
    const paysOff = tokens === trees.length || tokens / cost > trees.length / base;
    return paysOff ? (perNode * tokens) / cost : Number.POSITIVE_INFINITY;
  }

  /** Whether the coming round is a probe round (every `probeEvery`-th). */
  get probing(): boolean {
    return (this.rounds + 1) % this.probeEvery === 0;
  }

  /**
   * Whether the coming round should be a plain step whatever the drafts (half-way between probes, while the
   * cost is measured): without plain rounds now and then, what a tree pass costs beyond a step is unmeasured.
   */
  get plainProbe(): boolean {
    return this.costs.measuring && (this.rounds + 1) % this.probeEvery === this.probeEvery >> 1;
  }

  /**
   * Whether to ask the drafter for a sequence: always when drafting is cheap (under a tenth of round time: a
   * prompt-lookup match can appear any time) or when its drafts were kept last time and may be again. A costly
   * drafter (a draft model, heads) whose proposals all get cut is asked again only as a probe, spaced so that
   * probing costs at most 3% of the time (every 8 rounds at a tenth of the round, about 150 when drafting
   * takes 4.7 rounds' time): a drafter that does not pay costs next to nothing.
   */
  wantsDraft(allCutLastRound: boolean): boolean {
    if (this.draftShare < 0.1) return true;
    if (!allCutLastRound && this.nextThreshold !== Number.POSITIVE_INFINITY) return true;
    const relativeCost = this.draftShare / (1 - Math.min(this.draftShare, 0.99));
    const every = Math.max(this.probeEvery, Math.ceil(relativeCost / 0.03));
    return this.rounds + 1 - this.lastAsked >= every;
  }

  /**
   * Learns from a finished round: which nodes were accepted, the target pass's time, the rest of the round's
   * time, and whether the drafter was asked.
   */
  observe(
    trees: readonly DraftTree[],
    paths: readonly (readonly number[])[],
    passMs: number,
    otherMs: number,
    drafterAsked: boolean,
  ): void {
    this.rounds++;
    let draftNodes = 0;
    trees.forEach((t, i) => {
      this.calibration.observe(t, paths[i]);
      draftNodes += t.size - 1;
    });
    this.costs.record(trees.length, draftNodes, passMs, otherMs, drafterAsked);
    if (drafterAsked) {
      const drafting = this.costs.draftingPerSequence * trees.length;
      const share = drafting / Math.max(drafting + passMs, 1e-3);
      // The first measurement is taken as it is: a costly drafter should not run many rounds on a prior of 0.
      this.draftShare = this.lastAsked === 0 ? share : this.draftShare + 0.2 * (share - this.draftShare);
      this.lastAsked = this.rounds;
    }
  }
}
