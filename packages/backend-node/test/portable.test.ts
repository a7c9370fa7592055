import { buildCase, CONFORMANCE_OPS, opCases } from '@densessm/backend-conformance';
import { assertPortable, nonPortableOps, PORTABLE_OPS, WEBGPU_LOWERINGS } from '@densessm/tensor';
import { describe, expect, it } from 'vitest';

describe('PORTABLE_OPS', () => {
  it('contains only ops the conformance suite verifies on CPU and wasm', () => {
    const unverified = [...PORTABLE_OPS].filter((op) => !CONFORMANCE_OPS.includes(op));
    expect(unverified).toEqual([]);
  });

  it('the suite covers every op the WebGPU lowerings replace that models use', () => {
    for (const op of ['Softplus', 'Trilu', 'Max', 'Min', 'ConstantOfShape']) {
      expect(CONFORMANCE_OPS).toContain(op);
      expect(WEBGPU_LOWERINGS[op]).toBeTruthy();
    }
  });

  it('the lowering cases themselves are portable', () => {
    const lowerings = opCases().filter((c) => c.name.includes('lowering'));
    expect(lowerings.length).toBeGreaterThanOrEqual(2);
    for (const c of lowerings) assertPortable(buildCase(c).builder);
    const trilu = opCases().find((c) => c.ops.includes('Trilu'))!;
    expect(nonPortableOps(buildCase(trilu).builder)).toEqual(['Trilu']);
  });
});
