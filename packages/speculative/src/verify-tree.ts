import type { DraftTree } from './draft-tree.js';
import { counterUniform, RandomStream } from './random.js';
import {
  greedyToken,
  type PenaltyContext,
  type SamplingOptions,
  sampleFromDistribution,
  samplingDistribution,
} from './sampling.js';

/** What verification decided for one sequence in one round. */
export interface TreeVerdict {
  /** Accepted node indices, root first (what `LanguageModel.commit` folds in). */
  readonly path: number[];
  /** The target's own token after the last accepted node: the next round's root. */
  readonly bonus: number;
}

/** The target's verify logits for one tree, and what shapes them into a choice. */
export interface VerifyContext {
  readonly tree: DraftTree;
  /** `tree.size * vocabSize` floats, row i = logits after the path ending at node i. */
  readonly logits: Float32Array;
  readonly vocabSize: number;
  readonly sampling: SamplingOptions;
  /** Tokens already in the committed context (for the repetition penalty). */
  readonly seen: Uint8Array;
  /** Absolute position of the root token; the token chosen at node i has position `rootPosition + depth + 1`. */
  readonly rootPosition: number;
}

function penaltyContext(context: VerifyContext, node: number): PenaltyContext {
  return { seen: context.seen, path: context.tree.pathTokens(node) };
}

/**
 * Greedy verification (DESIGN.md section 5): walk from the root, following the child whose token equals the
 * target's argmax at the current node; stop where no child matches. The emitted tokens are exactly those of
 * plain greedy decoding, because each one is the target's argmax given the tokens before it.
 */
export function verifyTreeGreedy(context: VerifyContext): TreeVerdict {
  const { tree, logits, vocabSize } = context;
  const penalty = context.sampling.repetitionPenalty ?? 1;
  const path = [0];
  for (;;) {
    const node = path[path.length - 1];
    const choice = greedyToken(logits, node * vocabSize, vocabSize, penalty, penaltyContext(context, node));
    const next = tree.tokenChildren(node).find((c) => tree.tokens[c] === choice);
    if (next === undefined) return { path, bonus: choice };
    path.push(next);
  }
}

/** q for the `index`-th sibling of a without-replacement group: q with the earlier draws removed, renormalised. */
function groupProposal(tree: DraftTree, siblings: readonly number[], index: number): Float64Array {
  const proposal = tree.proposals[siblings[index]]!;
  if (!proposal.withoutReplacement) return proposal.distribution;
  const q = Float64Array.from(proposal.distribution);
  for (let j = 0; j < index; j++) {
    const earlier = tree.proposals[siblings[j]];
    if (earlier?.distribution === proposal.distribution) q[tree.tokens[siblings[j]]] = 0;
  }
  let total = 0;
  for (const value of q) total += value;
  for (let v = 0; v < q.length; v++) q[v] /= total;
  return q;
}

function normalise(values: Float64Array): boolean {
  let total = 0;
  for (const value of values) total += value;
  if (!(total > 0)) return false;
  for (let v = 0; v < values.length; v++) values[v] /= total;
  return true;
}

/**
 * Lossless sampling verification over a tree. At each accepted node with target distribution p:
 * - deterministic children only (n-gram, recycling, greedy drafts): sample-and-compare, i.e. draw y ~ p with
 *   the position's own uniform and descend into the child whose token is y. The draw is the one plain seeded
 *   sampling makes, so the output equals plain sampling token for token.
 * - otherwise the recursive rejection of SpecInfer (Miao et al. 2024, Algorithm 2) / RSD (Jeon et al. 2024):
 *   children in order; a sampled child x ~ q_j is accepted with probability min(1, r(x)/q_j(x)) (Leviathan et
 *   al. 2023, Algorithm 1), else r <- norm(max(0, r - q_j)); a deterministic child is a point mass q = delta_x,
 *   accepted with probability r(x), else r <- r without x. If every child is rejected the bonus is drawn from r.
 * Each step is an exact rejection sampler of the current residual, so the emitted token is distributed as p.
 */
export function verifyTreeSampling(context: VerifyContext): TreeVerdict {
  const { tree, logits, vocabSize, sampling } = context;
  const seed = sampling.seed ?? 0;
  const path = [0];
  for (;;) {
    const node = path[path.length - 1];
    const position = context.rootPosition + tree.depths[node] + 1;
    const p = samplingDistribution(
      logits,
      node * vocabSize,
      vocabSize,
      sampling,
      penaltyContext(context, node),
    );
    const children = tree.tokenChildren(node);
    const drawUniform = counterUniform(seed, RandomStream.target, position, 0);
    if (children.every((c) => tree.proposals[c] === undefined)) {
      const choice = sampleFromDistribution(p, drawUniform);
      const next = children.find((c) => tree.tokens[c] === choice);
      if (next === undefined) return { path, bonus: choice };
      path.push(next);
      continue;
    }
    const residual = p;
    let accepted = -1;
    for (let j = 0; j < children.length && accepted < 0; j++) {
      const child = children[j];
      const token = tree.tokens[child];
      const u = counterUniform(seed, RandomStream.acceptance, position, j);
      if (tree.proposals[child] === undefined) {
        if (u < residual[token]) accepted = child;
        else {
          residual[token] = 0;
          normalise(residual);
        }
        continue;
      }
      const q = groupProposal(tree, children, j);
      if (q[token] > 0 && u * q[token] < residual[token]) {
        accepted = child;
        continue;
      }
      const next = Float64Array.from(residual, (r, v) => Math.max(0, r - q[v]));
      // r == q (up to rounding) would have accepted with probability 1: keep r rather than divide by zero.
      if (normalise(next)) residual.set(next);
    }
    if (accepted < 0) return { path, bonus: sampleFromDistribution(residual, drawUniform) };
    path.push(accepted);
  }
}
