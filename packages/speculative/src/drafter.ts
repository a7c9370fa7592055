import type { DraftTree } from './draft-tree.js';
import type { SamplingOptions } from './sampling.js';

/** What a drafter gets to propose one sequence's tree for one round. */
export interface DraftRequest {
  readonly sequenceId: number;
  /** The whole context: prompt, then every generated token; the last one is the root (chosen, not yet fed). */
  readonly tokens: readonly number[];
  /** Most draft nodes to add below the root (lookahead nodes count too). */
  readonly budget: number;
  /** The sequence's sampling options; sampled drafts must carry their (identically shaped) proposal q. */
  readonly sampling: SamplingOptions;
  /** Target's final hidden state where it chose the root (when the drafter `needsHidden`). */
  readonly hidden?: Float32Array;
}

/** What verification made of one sequence's tree: drafters learn from it (and advance their own states). */
export interface VerifyOutcome {
  readonly sequenceId: number;
  readonly tree: DraftTree;
  /** The target's logits for every tree node, `tree.size * vocabSize` floats. */
  readonly logits: Float32Array;
  readonly vocabSize: number;
  /** Target hidden states for every node, when some drafter `needsHidden`. */
  readonly hidden?: Float32Array;
  /** Accepted node indices, root first: these tokens are now part of the target's state. */
  readonly path: readonly number[];
  /** The next round's root. */
  readonly bonus: number;
}

/**
 * Proposes token trees and learns from their verification. Calls are batched over the sequences of a round;
 * `propose` returns one tree per request, rooted at the request's root and within its budget.
 */
export interface Drafter {
  readonly name: string;
  /** Whether `DraftRequest.hidden` / `VerifyOutcome.hidden` are needed (costs the target an extra output). */
  readonly needsHidden?: boolean;
  /** A sequence joins with its prompt (everything before the first root). */
  addSequences?(sequences: readonly { sequenceId: number; prompt: Int32Array }[]): Promise<void> | void;
  propose(requests: readonly DraftRequest[]): Promise<DraftTree[]> | DraftTree[];
  observe?(outcomes: readonly VerifyOutcome[]): Promise<void> | void;
  removeSequence?(sequenceId: number): void;
}
