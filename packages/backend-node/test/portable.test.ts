import { readFileSync } from 'node:fs';
import { buildCase, CONFORMANCE_OPS, dtypeCases, opCases } from '@densessm/backend-conformance';
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

interface WebGpuResult {
  name: string;
  ok: boolean;
  ranOn?: string[];
  cpuNodes?: string[];
}

describe('PORTABLE_OPS against the recorded WebGPU run (tools/backend-conformance/webgpu/results.json)', () => {
  const file = new URL('../../../tools/backend-conformance/webgpu/results.json', import.meta.url);
  const recorded = JSON.parse(readFileSync(file, 'utf8')) as { providers: string[]; results: WebGpuResult[] };
  const cases = new Map([...opCases(), ...dtypeCases()].map((c) => [c.name, c]));

  it('ran on WebGPU and covers every current op case', () => {
    expect(recorded.providers).toEqual(['webgpu', 'wasm']);
    expect(recorded.results.map((r) => r.name).sort()).toEqual([...cases.keys()].sort());
  });

  it('every case that failed on WebGPU is rejected by assertPortable or is a float16 case', () => {
    for (const r of recorded.results.filter((x) => !x.ok)) {
      const c = cases.get(r.name)!;
      const isFloat16 = c.expected.some((t) => t.dtype === 'float16');
      if (isFloat16) continue; // float16 needs the adapter's shader-f16 feature (documented)
      expect(() => assertPortable(buildCase(c).builder), r.name).toThrow();
    }
  });

  it('backend-web kept exactly the float16 graphs off WebGPU (the recorded adapter has no shader-f16)', () => {
    for (const r of recorded.results) {
      const c = cases.get(r.name)!;
      const float16 = [...c.expected, ...c.inputs.map((i) => i.tensor)].some((t) => t.dtype === 'float16');
      expect(r.ranOn, r.name).toEqual(float16 ? ['wasm'] : ['webgpu', 'wasm']);
    }
  });

  it('a portable op fell back to the CPU only for int64 data or an output Identity', () => {
    for (const r of recorded.results) {
      for (const line of r.cpuNodes ?? []) {
        const op = line.split(' ')[0];
        if (!PORTABLE_OPS.has(op) || op === 'Identity') continue;
        expect(r.name, `${line} in '${r.name}'`).toMatch(/int64/);
      }
    }
  });
});
