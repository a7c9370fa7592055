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

/** Round time as `base + perNode * draftNodes` for the current batch size, in milliseconds. */
export interface PassCost {
  readonly base: number;
  readonly perNode: number;
}

/** Decay of the cost fit's sums per round: about the last 30 rounds count. */
const costForgetting = 0.97;

/**
 * The measured cost curve of a round (drafting, target pass and commit) against its draft node count, one
 * exponentially weighted least-squares line per batch size. The slope leans on the `nodeCost` prior until the
 * rounds seen spread over enough different node counts to measure it.
 */
export class PassCostModel {
  private readonly fits = new Map<number, Float64Array>();

  constructor(
    private readonly nodeCost: number,
    private readonly measure: boolean,
  ) {}

  record(batchSize: number, draftNodes: number, elapsedMs: number): void {
    if (!this.measure) return;
    let s = this.fits.get(batchSize);
    if (!s) {
      s = new Float64Array(5);
      this.fits.set(batchSize, s);
    }
    const sample = [1, draftNodes, elapsedMs, draftNodes * draftNodes, draftNodes * elapsedMs];
    for (let i = 0; i < 5; i++) s[i] = s[i] * costForgetting + sample[i];
  }

  /** The curve for `batchSize`; in units of one sequence's one-token pass until something is measured. */
  curve(batchSize: number): PassCost {
    const s = this.fits.get(batchSize);
    if (!s) return { base: batchSize, perNode: this.nodeCost };
    const [w, sx, sy, sxx, sxy] = s;
    const meanX = sx / w;
    const meanY = sy / w;
    // Ridge toward the prior slope, worth 4 rounds spread over +-4 nodes.
    const priorSlope = (this.nodeCost * meanY) / (batchSize + this.nodeCost * meanX);
    const ridge = 64;
    const slope = Math.max(
      0,
      (sxy - w * meanX * meanY + ridge * priorSlope) / (sxx - w * meanX * meanX + ridge),
    );
    return { base: Math.max(meanY - slope * meanX, 1e-3), perNode: slope };
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

  constructor(options: AdaptiveOptions = {}) {
    const nodeCost = options.nodeCost ?? 0.07;
    this.probeEvery = options.probeEvery ?? 8;
    if (!(nodeCost > 0 && Number.isInteger(this.probeEvery) && this.probeEvery >= 1)) {
      throw new SpeculativeError(
        'INVALID_OPTION',
        `adaptive needs nodeCost > 0 and an integer probeEvery >= 1, got ${nodeCost} and ${options.probeEvery}.`,
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
    const threshold = this.nextThreshold ?? this.costs.curve(trees.length).perNode / this.costs.curve(1).base;
    this.nextThreshold = this.threshold(trees, probs);
    const probe = this.probing;
    return trees.map((t, i) => {
      const keep = new Uint8Array(t.size);
      keep[0] = 1;
      // The probe: the first (best-ranked) draft below the root, whatever its estimate.
      const first = probe ? t.children(0).find((n) => t.lookahead[n] === undefined) : undefined;
      for (let n = 1; n < t.size; n++)
        keep[n] = keep[t.parents[n]] && (probs[i][n] > threshold || n === first) ? 1 : 0;
      return t.prune(keep);
    });
  }

  /** perNode * T / C after greedily taking, best first, the nodes of all trees that raise T / C. */
  private threshold(trees: readonly DraftTree[], probs: readonly Float64Array[]): number {
    const { base, perNode } = this.costs.curve(trees.length);
    const candidates: number[] = [];
    trees.forEach((t, i) => {
      for (let n = 1; n < t.size; n++) if (t.lookahead[n] === undefined) candidates.push(probs[i][n]);
    });
    candidates.sort((a, b) => b - a);
    let tokens = trees.length;
    let cost = base;
    for (const p of candidates) {
      if (p <= (perNode * tokens) / cost) break;
      tokens += p;
      cost += perNode;
    }
    return (perNode * tokens) / cost;
  }

  /** Whether the coming round is a probe round (every `probeEvery`-th). */
  get probing(): boolean {
    return (this.rounds + 1) % this.probeEvery === 0;
  }

  /**
   * Whether to ask the drafter for a sequence: always unless its whole proposal was cut last round; then only
   * when drafting is cheap (under a tenth of round time: a prompt-lookup match can appear any time) or on probe
   * rounds, so a costly drafter that does not pay (a draft model, heads) stops costing anything between probes.
   */
  wantsDraft(allCutLastRound: boolean): boolean {
    return !allCutLastRound || this.draftShare < 0.1 || this.probing;
  }

  /** Learns from a finished round: which nodes were accepted, and what drafting and the round cost. */
  observe(
    trees: readonly DraftTree[],
    paths: readonly (readonly number[])[],
    draftMs: number,
    elapsedMs: number,
  ): void {
    this.rounds++;
    // Only rounds that drafted tell what drafting costs.
    if (draftMs > 0) this.draftShare += 0.2 * (draftMs / Math.max(elapsedMs, 1e-3) - this.draftShare);
    let draftNodes = 0;
    trees.forEach((t, i) => {
      this.calibration.observe(t, paths[i]);
      draftNodes += t.size - 1;
    });
    this.costs.record(trees.length, draftNodes, elapsedMs);
  }
}
