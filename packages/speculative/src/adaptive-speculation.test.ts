import { describe, expect, it } from 'vitest';
import { AcceptanceCalibration, PassCostModel, SpeculationPolicy } from './adaptive-speculation.js';
import { DraftTree } from './draft-tree.js';
import { SpeculativeError } from './errors.js';

/** A chain of `length` drafts below root 1, each scored `score` times its parent. */
function chainTree(length: number, score: number, sources = 1): DraftTree {
  const tree = new DraftTree(1);
  let node = 0;
  for (let i = 0; i < length; i++) node = tree.addChild(node, 10 + i, { score: score ** (i + 1), sources });
  return tree;
}

describe('AcceptanceCalibration', () => {
  it('starts from the priorities and learns the measured rates of each drafter', () => {
    const c = new AcceptanceCalibration();
    const tree = chainTree(3, 0.5);
    expect(Array.from(c.estimate(tree))).toEqual([1, 0.5, 0.25, 0.125]);
    // The drafter is always right: its nodes' estimates rise toward 1.
    for (let i = 0; i < 40; i++) c.observe(tree, [0, 1, 2, 3]);
    const learned = c.estimate(tree);
    expect(learned[3]).toBeGreaterThan(0.9);
    // Another drafter with the same priorities keeps its prior.
    expect(c.estimate(chainTree(3, 0.5, 2))[1]).toBe(0.5);
    // Always wrong: estimates fall far below the priority.
    for (let i = 0; i < 150; i++) c.observe(tree, [0]);
    expect(c.estimate(tree)[1]).toBeLessThan(0.1);
  });

  it('never rates a node above its parent', () => {
    const c = new AcceptanceCalibration();
    const tree = new DraftTree(1);
    const a = tree.addChild(0, 5, { score: 0.1 });
    tree.addChild(a, 6, { score: 0.9 });
    expect(Array.from(c.estimate(tree))).toEqual([1, 0.1, 0.1]);
  });
});

describe('PassCostModel', () => {
  it('fits base, the jump of a tree pass over a step, and per-node cost from measured rounds', () => {
    const m = new PassCostModel(0.07, true);
    for (let i = 0; i < 60; i++) {
      const n = i % 9;
      m.record(1, n, 5 + (n > 0 ? 1.5 : 0) + 0.4 * n, 0, true);
    }
    const { base, jump, perNode } = m.curve(1);
    expect(base).toBeCloseTo(5, 0);
    expect(jump).toBeCloseTo(1.5, 0);
    expect(perNode).toBeCloseTo(0.4, 1);
  });

  it('shares one fit across batch sizes: a fixed part, a part per sequence and a part per node', () => {
    const m = new PassCostModel(0.07, true);
    for (let i = 0; i < 90; i++) {
      const batch = 1 + (i % 8);
      const n = (i * 7) % 17;
      m.record(batch, n, 4 + 1.5 * batch + 0.5 * n, (n > 0 ? 0.5 : 0.3) * batch, n > 0);
    }
    const at8 = m.curve(8);
    expect(Math.abs(at8.base - 16)).toBeLessThan(1);
    expect(at8.perNode).toBeCloseTo(0.5, 1);
    expect(at8.drafting).toBeCloseTo(1.6, 5);
    expect(m.curve(3).base).toBeCloseTo(8.5, 0);
  });

  it('uses the prior ratio where nothing is measured', () => {
    expect(new PassCostModel(0.1, false).curve(4)).toEqual({ base: 4, jump: 0, perNode: 0.1, drafting: 0 });
  });
});

describe('SpeculationPolicy', () => {
  it('keeps the drafts that pay and cuts the rest', () => {
    const policy = new SpeculationPolicy({ measureCost: false, nodeCost: 0.1 });
    // First round: the prior threshold, nodeCost = 0.1, keeps 0.6^1..0.6^4.
    expect(policy.select([chainTree(8, 0.6)])[0].tokens).toEqual([1, 10, 11, 12, 13]);
    // Then the threshold of the best choice for such trees: p = 0.6^k pays while p > 0.1 * tokens / cost,
    // 0.6 > 0.1, 0.36 > 0.145, 0.216 > 0.163, 0.13 < 0.167.
    expect(policy.select([chainTree(8, 0.6)])[0].tokens).toEqual([1, 10, 11, 12]);
  });

  it('turns speculation off for a drafter that keeps missing, and probes it again', () => {
    const policy = new SpeculationPolicy({ measureCost: false, probeEvery: 4 });
    const sizes: number[] = [];
    for (let round = 0; round < 40; round++) {
      const [cut] = policy.select([chainTree(6, 0.9)]);
      sizes.push(cut.size - 1);
      policy.observe([cut], [[0]], 1, 0, true);
    }
    expect(sizes[0]).toBeGreaterThan(3);
    const late = sizes.slice(20);
    expect(late.filter((n) => n === 0).length).toBeGreaterThan(10);
    expect(late.every((n) => n <= 1)).toBe(true);
    expect(late.some((n) => n === 1)).toBe(true);
  });

  it('spends a batch budget on the sequences whose drafts are most likely', () => {
    const policy = new SpeculationPolicy({ measureCost: false, nodeCost: 0.05 });
    const [sure, unsure] = policy.select([chainTree(6, 0.95), chainTree(6, 0.2)]);
    expect(sure.size - 1).toBeGreaterThan(unsure.size - 1);
  });

  it('stops calling a costly drafter that does not pay, except on probe rounds', () => {
    const policy = new SpeculationPolicy({ probeEvery: 5 });
    const asked: boolean[] = [];
    for (let round = 0; round < 60; round++) {
      // Everything proposed was cut last round; drafting took 3 of the round's 10 ms.
      const draft = policy.wantsDraft(true);
      asked.push(draft);
      policy.observe([new DraftTree(1)], [[0]], 7, draft ? 3 : 0, draft);
    }
    // Drafting is 30% of a round, 0.43 rounds' time: probed every 15 rounds to stay under 3% (2 of the last 30).
    expect(asked.slice(30).filter((a) => a).length).toBe(2);
    // A drafter whose nodes were kept (or that proposed nothing) is always asked; a cheap one too.
    expect(policy.wantsDraft(false)).toBe(true);
    const cheap = new SpeculationPolicy();
    for (let round = 0; round < 20; round++) cheap.observe([new DraftTree(1)], [[0]], 9.8, 0.2, true);
    expect(cheap.wantsDraft(true)).toBe(true);
  });

  it('turns speculation off when drafting costs more than the drafts save, on when it is cheap', () => {
    const run = (draftingMs: number) => {
      const policy = new SpeculationPolicy({ probeEvery: 1000 });
      let kept = 0;
      for (let round = 0; round < 30; round++) {
        const [cut] = policy.select([chainTree(6, 0.6)]);
        kept = cut.size - 1;
        // Passes cost 5 ms + 0.4 ms per node; drafts accepted as their score says (first two).
        policy.observe([cut], [cut.size > 2 ? [0, 1, 2] : [0]], 5 + 0.4 * kept, draftingMs, true);
      }
      return kept;
    };
    expect(run(0.1)).toBeGreaterThan(0);
    expect(run(12)).toBe(0);
  });

  it('runs a plain round half-way between probes while it measures costs, never with the prior only', () => {
    const pattern = (measureCost: boolean) => {
      const policy = new SpeculationPolicy({ measureCost, probeEvery: 4 });
      const plain: boolean[] = [];
      for (let round = 0; round < 8; round++) {
        plain.push(policy.plainProbe);
        policy.observe([new DraftTree(1)], [[0]], 5, 0, true);
      }
      return plain;
    };
    expect(pattern(true)).toEqual([false, true, false, false, false, true, false, false]);
    expect(pattern(false).some((p) => p)).toBe(false);
  });

  it('rejects options that would stop it from working, saying which', () => {
    expect(() => new SpeculationPolicy({ probeEvery: 1 })).toThrow(/probeEvery >= 2, got 0.07 and 1/);
    expect(() => new SpeculationPolicy({ nodeCost: 0 })).toThrow(/nodeCost > 0/);
    expect(() => new SpeculationPolicy({ probeEvery: 2.5 })).toThrow(SpeculativeError);
  });

  it('judges deterministic drafts the same whatever a sampled sibling drew', () => {
    const cutWith = (drawn: number) => {
      const policy = new SpeculationPolicy({ measureCost: false, nodeCost: 0.1 });
      const tree = new DraftTree(1);
      const distribution = new Float64Array(8).fill(1 / 8);
      const sampled = tree.addChild(0, drawn, {
        score: 0.9,
        priority: 0.9,
        proposal: { distribution, withoutReplacement: true },
      });
      // Below the draw, a deterministic chain whose scores depend on the drawn token.
      let node = sampled;
      for (let k = 0; k < 4; k++) node = tree.addChild(node, 20 + k, { score: drawn === 3 ? 0.85 : 0.2 });
      let chain = tree.addChild(0, 30, { score: 0.3 });
      chain = tree.addChild(chain, 31, { score: 0.12 });
      const [cut] = policy.select([tree]);
      return cut.tokens.filter((t) => t >= 30);
    };
    expect(cutWith(3)).toEqual(cutWith(5));
  });
});
