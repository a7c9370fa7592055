import { float32, type Tensor } from '@densessm/tensor';
import { describe, expect, it } from 'vitest';
import { ModelError } from './errors.js';
import { ownState, PackedState } from './state.js';
import { checkPath, treeDepths } from './tree.js';
import { bindWeights } from './weights.js';

describe('bindWeights', () => {
  const specs = [
    { name: 'a', shape: [2, 3] },
    { name: 'b', shape: [4], aliases: ['b_alias'] },
    { name: 'c', shape: [1], optional: true },
  ];

  it('binds by name or alias, skips absent optional tensors, ignores unnamed ones', () => {
    const stored = new Map([
      ['a', float32([2, 3])],
      ['b_alias', float32([4], [1, 2, 3, 4])],
      ['extra', float32([9])],
    ]);
    const weights = bindWeights(specs, stored, 'dir', () => 'dir/model.safetensors');
    expect(weights.get('b').data).toEqual(Float32Array.of(1, 2, 3, 4));
    expect(weights.has('c')).toBe(false);
    expect(weights.has('extra')).toBe(false);
    expect(weights.parameterCount).toBe(10);
    expect(() => weights.get('c')).toThrow(ModelError);
  });

  it('refuses integer tensors naming the file', () => {
    const stored = new Map<string, Tensor>([
      ['a', { dtype: 'int32' as const, dims: [2, 3], data: new Int32Array(6) }],
      ['b', float32([4])],
    ]);
    expect(() => bindWeights(specs, stored, 'dir', (n) => `dir/${n}.safetensors`)).toThrow(
      /dir\/a\.safetensors: tensor 'a' has dtype int32/,
    );
  });
});

describe('PackedState', () => {
  it('clones deeply and keeps its owner; advance swaps arrays', () => {
    const owner = {};
    const state = new PackedState(owner, { kv: Float32Array.of(1, 2) });
    const copy = state.clone();
    state.advance({ kv: Float32Array.of(3, 4) }, 1);
    expect(copy.tensors.kv).toEqual(Float32Array.of(1, 2));
    expect(copy.position).toBe(0);
    expect(state.byteSize).toBe(8);
    expect(ownState(copy, owner, 'x')).toBe(copy);
    expect(() => ownState(copy, {}, 'step (item 3)')).toThrow(
      /step \(item 3\): the state was not made by this model/,
    );
  });
});

describe('PackedState pending rows', () => {
  it('grow keeping their rows, count in position and byteSize, clone deeply, and drop on advance', () => {
    const state = new PackedState({}, { kv: new Float32Array(4) }, 10);
    const widths = { k: 2, v: 3 };
    let rows = state.reservePending(widths, 1, 2);
    rows.k.set([1, 2]);
    rows.v.set([3, 4, 5]);
    state.appendPending(1);
    expect([state.position, state.basePosition, state.pendingCount]).toEqual([11, 10, 1]);
    expect(state.byteSize).toBe(16 + 2 * (2 + 3) * 4); // capped at the limit (2 rows)
    rows = state.reservePending(widths, 3, 2); // beyond the limit: exactly what is needed, keeps row 0
    expect(Array.from(rows.k.subarray(0, 2))).toEqual([1, 2]);
    expect(rows.v.length).toBe(4 * 3);
    const big = new PackedState({}, {});
    expect(big.reservePending(widths, 1, 1000).k.length).toBe(8 * 2); // doubling from 8 rows, not 1000
    big.appendPending(1);
    expect(big.reservePending(widths, 8, 1000).k.length).toBe(16 * 2);
    const copy = state.clone();
    rows.k[0] = 7;
    expect(copy.pending?.k[0]).toBe(1);
    expect([copy.position, copy.pendingCount, copy.byteSize]).toEqual([11, 1, state.byteSize]);
    state.advance({ kv: new Float32Array(4) }, 11);
    expect([state.position, state.pendingCount]).toEqual([11, 0]);
  });
});

describe('trees and paths', () => {
  it('depths follow parents; malformed trees and paths are refused', () => {
    const tree = { tokens: Int32Array.of(1, 2, 3, 4), parents: Int32Array.of(-1, 0, 0, 2) };
    expect(Array.from(treeDepths(tree, 10, 4, 'v'))).toEqual([0, 1, 1, 2]);
    expect(() => treeDepths({ tokens: Int32Array.of(1), parents: Int32Array.of(0) }, 10, 4, 'v')).toThrow(
      /parent 0/,
    );
    expect(() => treeDepths({ tokens: new Int32Array(0), parents: new Int32Array(0) }, 10, 4, 'v')).toThrow(
      /no nodes/,
    );
    const overrides = { nodes: Int32Array.of(1), vectors: new Float32Array(3) };
    expect(() => treeDepths({ ...tree, embeddingOverrides: overrides }, 10, 4, 'v')).toThrow(
      /expected nodes \* 4/,
    );
    expect(() => checkPath([0, 2, 3], tree.parents, 'c')).not.toThrow();
    expect(() => checkPath([0, 3], tree.parents, 'c')).toThrow(/index 1/);
    expect(() => checkPath([2], tree.parents, 'c')).toThrow(ModelError);
  });
});
