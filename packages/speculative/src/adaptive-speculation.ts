import { SpeculativeError } from './errors.js';

export interface AdaptiveOptions {
  /** Smallest tree (draft nodes below the root) a sequence gets while speculating. */
  minNodes?: number;
  /** Largest tree per sequence. */
  maxNodes?: number;
  /** Weight of the newest round in the running acceptance average. */
  smoothing?: number;
  /** Every this many rounds, run one round in the mode not currently chosen, to re-measure it. */
  probeEvery?: number;
  /** Let measured throughput turn speculation off (timing-dependent; off makes the schedule deterministic). */
  switchByCost?: boolean;
}

/**
 * Per-sequence tree size from running acceptance: the budget scales with the acceptance rate (accepted depth
 * over drafted depth, averaged), between `minNodes` and `maxNodes`: a drafter that keeps being right earns a
 * deep tree; one that keeps missing costs only a few nodes (PEARL / SpecDec++ adapt draft length the same way).
 */
export class AcceptanceTracker {
  private rate = 0.5;

  constructor(private readonly smoothing: number) {}

  observe(acceptedDepth: number, draftedDepth: number): void {
    if (draftedDepth === 0) return;
    this.rate += this.smoothing * (acceptedDepth / draftedDepth - this.rate);
  }

  budget(minNodes: number, maxNodes: number): number {
    return Math.round(minNodes + (maxNodes - minNodes) * this.rate);
  }
}

/**
 * Decides per round whether the batch speculates at all, from measured throughput (emitted tokens per
 * millisecond of round time, drafting included) of speculative and plain rounds: speculation stays on only
 * while it pays (DESIGN.md section 5: e.g. large batches on CPU, where verify costs grow with the node count).
 * The mode not in use is re-measured every `probeEvery` rounds, so a change in workload is noticed.
 */
export class SpeculationSwitch {
  private speculativeRate = Number.NaN;
  private plainRate = Number.NaN;
  private rounds = 0;

  constructor(
    private readonly probeEvery: number,
    private readonly smoothing: number,
  ) {
    if (!(probeEvery >= 2))
      throw new SpeculativeError('INVALID_OPTION', `probeEvery must be >= 2, got ${probeEvery}.`);
  }

  /** Whether the next round should speculate. */
  nextRoundSpeculates(): boolean {
    this.rounds++;
    const preferred = !(this.plainRate > this.speculativeRate);
    if (Number.isNaN(this.speculativeRate)) return true;
    if (Number.isNaN(this.plainRate)) return this.rounds % this.probeEvery !== 0;
    return this.rounds % this.probeEvery === 0 ? !preferred : preferred;
  }

  record(speculated: boolean, emittedTokens: number, elapsedMs: number): void {
    const rate = emittedTokens / Math.max(elapsedMs, 1e-3);
    if (speculated)
      this.speculativeRate = Number.isNaN(this.speculativeRate)
        ? rate
        : this.speculativeRate + this.smoothing * (rate - this.speculativeRate);
    else
      this.plainRate = Number.isNaN(this.plainRate)
        ? rate
        : this.plainRate + this.smoothing * (rate - this.plainRate);
  }

  get measuredRates(): { speculative: number; plain: number } {
    return { speculative: this.speculativeRate, plain: this.plainRate };
  }
}
