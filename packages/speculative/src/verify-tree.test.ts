import { describe, expect, it } from 'vitest';
import { chiSquare, chiSquareCritical999, totalVariation } from '../test/statistics.js';
import { DraftTree } from './draft-tree.js';
import { gumbelTopK } from './gumbel-top-k.js';
import { counterUniform } from './random.js';
import { sampleFromDistribution } from './sampling.js';
import { verifyTreeGreedy, verifyTreeSampling } from './verify-tree.js';

const V = 6;
// Target p and draft q that disagree a lot, so rejections and residuals are exercised.
const p = Float64Array.from([0.35, 0.25, 0.15, 0.12, 0.08, 0.05]);
const q = Float64Array.from([0.05, 0.1, 0.4, 0.05, 0.3, 0.1]);
// Depth-2 target: the row below token t is p rotated by t + 1.
const p2 = (t: number) => Float64Array.from(p, (_, v) => p[(v + t + 1) % V]);
const trials = 40_000;

function logitsFor(rows: readonly Float64Array[]): Float32Array {
  const out = new Float32Array(rows.length * V);
  rows.forEach((row, i) => {
    row.forEach((x, v) => {
      out[i * V + v] = Math.log(x);
    });
  });
  return out;
}

type TreeBuilder = (trial: number) => DraftTree;

/** Runs the verifier `trials` times; returns counts of the first emitted token and of the second given the first. */
function emitted(build: TreeBuilder) {
  const first = new Float64Array(V);
  const second = Array.from({ length: V }, () => new Float64Array(V));
  for (let trial = 0; trial < trials; trial++) {
    const tree = build(trial);
    const rows = tree.tokens.map((token, n) => (n === 0 ? p : p2(token)));
    const verdict = verifyTreeSampling({
      tree,
      logits: logitsFor(rows),
      vocabSize: V,
      sampling: { temperature: 1, seed: trial },
      seen: new Uint8Array(V),
      rootPosition: 10,
    });
    const out = [...verdict.path.slice(1).map((n) => tree.tokens[n]), verdict.bonus];
    first[out[0]]++;
    if (out.length > 1) second[out[0]][out[1]]++;
  }
  return { first, second };
}

function draftSample(trial: number, k: number): number {
  return sampleFromDistribution(q, counterUniform(trial, 77, 0, k));
}

function expectDistribution(counts: Float64Array, target: Float64Array): void {
  const total = counts.reduce((a, b) => a + b, 0);
  const { statistic, df } = chiSquare(counts, target, total);
  expect(statistic).toBeLessThan(chiSquareCritical999(df));
  // E[TV] <= 0.4 sqrt(V / N) for N draws from the target itself; the bound is 2.5 times that.
  expect(totalVariation(counts, target, total)).toBeLessThan(Math.sqrt(V / total));
}

const builders: Record<string, TreeBuilder> = {
  'one sampled draft (Leviathan/Chen)': (trial) => {
    const tree = new DraftTree(0);
    tree.addChild(0, draftSample(trial, 0), { proposal: { distribution: q, withoutReplacement: false } });
    return tree;
  },
  'three i.i.d. sampled siblings (SpecInfer)': (trial) => {
    const tree = new DraftTree(0);
    for (let k = 0; k < 3; k++)
      tree.addChild(0, draftSample(trial, k), { proposal: { distribution: q, withoutReplacement: false } });
    return tree;
  },
  'three siblings without replacement (Gumbel-Top-k, RSD)': (trial) => {
    const tree = new DraftTree(0);
    for (const token of gumbelTopK(q, 3, trial, 5, 0))
      tree.addChild(0, token, { proposal: { distribution: q, withoutReplacement: true } });
    return tree;
  },
  'deterministic siblings (sample-and-compare)': () => {
    const tree = new DraftTree(0);
    tree.addChild(0, 2);
    tree.addChild(0, 0);
    return tree;
  },
  'deterministic and sampled siblings mixed': (trial) => {
    const tree = new DraftTree(0);
    tree.addChild(0, 1);
    for (const token of gumbelTopK(q, 2, trial, 5, 0))
      tree.addChild(0, token, { proposal: { distribution: q, withoutReplacement: true } });
    return tree;
  },
  'depth-2 tree of sampled drafts': (trial) => {
    const tree = new DraftTree(0);
    for (const token of gumbelTopK(q, 2, trial, 5, 0)) {
      const child = tree.addChild(0, token, { proposal: { distribution: q, withoutReplacement: true } });
      for (const grandchild of gumbelTopK(q, 2, trial, 6, child)) {
        tree.addChild(child, grandchild, { proposal: { distribution: q, withoutReplacement: true } });
      }
    }
    return tree;
  },
};

describe('verifyTreeSampling is lossless', () => {
  for (const [name, build] of Object.entries(builders)) {
    it(`${name}: first token ~ p, second token ~ p(. | first)`, () => {
      const { first, second } = emitted(build);
      expectDistribution(first, p);
      for (let t = 0; t < V; t++) {
        if (second[t].reduce((a, b) => a + b, 0) >= 2000) expectDistribution(second[t], p2(t));
      }
    });
  }

  it('the test has power: the draft distribution itself is rejected', () => {
    const counts = new Float64Array(V);
    for (let trial = 0; trial < trials; trial++) counts[draftSample(trial, 0)]++;
    expect(chiSquare(counts, p, trials).statistic).toBeGreaterThan(100 * chiSquareCritical999(V - 1));
  });

  it('accepts often when q is close to p (speculation pays)', () => {
    let accepted = 0;
    for (let trial = 0; trial < 2000; trial++) {
      const tree = new DraftTree(0);
      tree.addChild(0, sampleFromDistribution(p, counterUniform(trial, 77, 0, 0)), {
        proposal: { distribution: p, withoutReplacement: false },
      });
      const verdict = verifyTreeSampling({
        tree,
        logits: logitsFor([p, p2(0)]),
        vocabSize: V,
        sampling: { temperature: 1, seed: trial },
        seen: new Uint8Array(V),
        rootPosition: 0,
      });
      if (verdict.path.length === 2) accepted++;
    }
    expect(accepted).toBe(2000);
  });
});

describe('verifyTreeGreedy', () => {
  it('follows the argmax chain and returns the target token where the drafts diverge', () => {
    const tree = new DraftTree(3);
    const a = tree.addChild(0, 1);
    tree.addChild(0, 0); // the argmax at the root is 0 (p[0] is largest): this branch is accepted
    tree.addChild(a, 5);
    const rows = [p, p2(1), p2(0), p2(5)];
    const verdict = verifyTreeGreedy({
      tree,
      logits: logitsFor(rows),
      vocabSize: V,
      sampling: {},
      seen: new Uint8Array(V),
      rootPosition: 0,
    });
    expect(verdict.path).toEqual([0, 2]);
    // Below token 0 the row is p rotated by 1, whose argmax is token 5.
    expect(verdict.bonus).toBe(5);
  });

  it('applies the repetition penalty with the path tokens as context', () => {
    const tree = new DraftTree(0);
    const verdict = verifyTreeGreedy({
      tree,
      logits: logitsFor([p]),
      vocabSize: V,
      sampling: { repetitionPenalty: 100 },
      seen: new Uint8Array(V),
      rootPosition: 0,
    });
    // Token 0 is the root (on the path) and its logit log(0.35) < 0 is multiplied by 100: token 1 wins.
    expect(verdict.bonus).toBe(1);
  });
});
