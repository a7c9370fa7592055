/**
 * Acceptance and time counters, vLLM-style (`spec_decode_num_draft_tokens`, `..._num_accepted_tokens`,
 * `..._num_accepted_tokens_per_pos`). Mean accepted length is tokens emitted per target pass, bonus included:
 * 1 for plain decoding, 1 + accepted / passes with speculation.
 */
export interface SpeculationMetrics {
  /** Target passes (verify or step) this sequence took part in; summed over sequences in totals. */
  targetPasses: number;
  /** Batched target passes: equals `targetPasses` for one sequence; in batch totals, the rounds run. */
  batchPasses: number;
  /** Passes whose tree held at least one draft token. */
  draftedPasses: number;
  /** Draft nodes verified (lookahead nodes excluded). */
  draftedTokens: number;
  /** Draft tokens accepted. */
  acceptedTokens: number;
  /** Tokens emitted (accepted drafts + one target token per pass, before any stop truncation). */
  emittedTokens: number;
  /** `proposedAtDepth[d]`: passes whose tree reached depth d + 1; `acceptedAtDepth[d]`: passes that accepted it. */
  proposedAtDepth: number[];
  acceptedAtDepth: number[];
  prefillMs: number;
  draftMs: number;
  verifyMs: number;
  commitMs: number;
}

export function emptyMetrics(): SpeculationMetrics {
  return {
    targetPasses: 0,
    batchPasses: 0,
    draftedPasses: 0,
    draftedTokens: 0,
    acceptedTokens: 0,
    emittedTokens: 0,
    proposedAtDepth: [],
    acceptedAtDepth: [],
    prefillMs: 0,
    draftMs: 0,
    verifyMs: 0,
    commitMs: 0,
  };
}

/** Tokens emitted per target pass, counting the bonus token. */
export function meanAcceptedLength(m: SpeculationMetrics): number {
  return m.targetPasses === 0 ? 0 : m.emittedTokens / m.targetPasses;
}

/** Fraction of passes that reached depth d + 1 and accepted it. */
export function acceptanceByDepth(m: SpeculationMetrics): number[] {
  return m.proposedAtDepth.map((proposed, d) =>
    proposed === 0 ? 0 : (m.acceptedAtDepth[d] ?? 0) / proposed,
  );
}

export function addMetrics(into: SpeculationMetrics, from: SpeculationMetrics): void {
  into.targetPasses += from.targetPasses;
  into.batchPasses += from.batchPasses;
  into.draftedPasses += from.draftedPasses;
  into.draftedTokens += from.draftedTokens;
  into.acceptedTokens += from.acceptedTokens;
  into.emittedTokens += from.emittedTokens;
  into.prefillMs += from.prefillMs;
  into.draftMs += from.draftMs;
  into.verifyMs += from.verifyMs;
  into.commitMs += from.commitMs;
  from.proposedAtDepth.forEach((n, d) => {
    into.proposedAtDepth[d] = (into.proposedAtDepth[d] ?? 0) + n;
  });
  from.acceptedAtDepth.forEach((n, d) => {
    into.acceptedAtDepth[d] = (into.acceptedAtDepth[d] ?? 0) + n;
  });
}

/** Records one pass's tree shape and accepted depth (path length - 1). */
export function recordPass(
  m: SpeculationMetrics,
  treeDepth: number,
  draftedTokens: number,
  acceptedDepth: number,
): void {
  m.targetPasses++;
  m.batchPasses++;
  if (draftedTokens > 0) m.draftedPasses++;
  m.draftedTokens += draftedTokens;
  m.acceptedTokens += acceptedDepth;
  for (let d = 0; d < treeDepth; d++) {
    m.proposedAtDepth[d] = (m.proposedAtDepth[d] ?? 0) + 1;
    if (d < acceptedDepth) m.acceptedAtDepth[d] = (m.acceptedAtDepth[d] ?? 0) + 1;
  }
}
