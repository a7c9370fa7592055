import type { ReferenceModel, ReferenceState } from '../architecture.js';
import { add, matvec, mul, rmsNorm, silu } from '../reference-math.js';
import type { ModelWeights } from '../weights.js';
import { type DenseRetNetConfig, fuses, kvName, retnetDims } from './config.js';
import { headDecays, rotaryThetas, writeRotary } from './rotary.js';

/** State of the reference: `kv [L, H, dv, dk]` = S^T per layer and head, and the count c per head. */
class RetNetReferenceState implements ReferenceState {
  constructor(
    public position: number,
    private readonly layers: number,
    readonly kv: Float32Array,
    readonly count: Float64Array,
  ) {}

  /** Per layer `kv.{l}` [H, dv, dk], the graph model's layout. */
  get tensors(): Record<string, Float32Array> {
    const layer = this.kv.length / this.layers;
    return Object.fromEntries(
      Array.from({ length: this.layers }, (_, l) => [
        kvName(l),
        this.kv.subarray(l * layer, (l + 1) * layer),
      ]),
    );
  }

  clone(): RetNetReferenceState {
    return new RetNetReferenceState(this.position, this.layers, this.kv.slice(), this.count.slice());
  }
}

/** SPEC.md `dense_retnet`, token by token, exactly as written there. */
export class DenseRetNetReference implements ReferenceModel {
  private readonly dims;
  private readonly gammas: Float64Array;
  private readonly thetas: Float64Array;

  constructor(
    private readonly config: DenseRetNetConfig,
    private readonly weights: ModelWeights,
  ) {
    this.dims = retnetDims(config);
    this.gammas = headDecays(this.dims.H);
    this.thetas = rotaryThetas(this.dims.dk);
  }

  get vocabSize(): number {
    return this.dims.V;
  }

  get hiddenSize(): number {
    return this.dims.d;
  }

  newState(): RetNetReferenceState {
    const { L, H, dv, dk } = this.dims;
    return new RetNetReferenceState(0, L, new Float32Array(L * H * dv * dk), new Float64Array(H));
  }

  private w(name: string): Float32Array {
    return this.weights.get(name).data;
  }

  feed(referenceState: ReferenceState, token: number): { logits: Float32Array; hidden: Float32Array } {
    const state = referenceState as RetNetReferenceState;
    const { d, Q, H, E, dk, dv, r, L, V } = this.dims;
    const eps = this.config.rmsNormEps;
    const n = state.position;
    for (let h = 0; h < H; h++) state.count[h] = this.gammas[h] * state.count[h] + 1;

    const cos = new Float32Array(dk);
    const sin = new Float32Array(dk);
    writeRotary(this.thetas, n, cos, sin, 0);
    const rotate = (x: Float32Array, head: number) => {
      const o = head * dk;
      for (let j = 0; j < dk; j += 2) {
        const a = x[o + j];
        const b = x[o + j + 1];
        x[o + j] = a * cos[j] - b * sin[j];
        x[o + j + 1] = b * cos[j + 1] + a * sin[j + 1];
      }
    };

    let hidden: Float32Array = this.w('model.embed_tokens.weight').slice(token * d, (token + 1) * d);
    const kCur: Float32Array[] = [];
    const vCur: Float32Array[] = [];
    for (let l = 0; l < L; l++) {
      const p = `model.layers.${l}.self_attn.`;
      const u = rmsNorm(hidden, this.w(`model.layers.${l}.input_layernorm.weight`), eps);
      const q = silu(matvec(this.w(`${p}q_proj.weight`), u, Q));
      let k: Float32Array = silu(matvec(this.w(`${p}k_proj.weight`), u, Q)).map((x) => x / Math.sqrt(dk));
      const vg = silu(matvec(this.w(`${p}to_hidden.0.weight`), u, 2 * E));
      let v: Float32Array = vg.slice(0, E);
      const gate = vg.slice(E);
      kCur.push(k);
      vCur.push(v);
      if (fuses(this.config, l)) {
        // DenseSSM eq. 6-8: s <- RMSNorm(s + silu(select(u)) * sum of the same stream of layers l-1..l-m.
        const past = (cur: Float32Array[]) =>
          cur.slice(Math.max(0, l - this.config.denseBlockLayers), l).reduce((acc, x) => add(acc, x));
        const select = (name: string, width: number) =>
          silu(
            matvec(
              this.w(`${p}${name}.fc2.weight`),
              silu(matvec(this.w(`${p}${name}.fc1.weight`), u, r)),
              width,
            ),
          );
        k = rmsNorm(add(k, mul(select('k_select', Q), past(kCur))), this.w(`${p}k_norm.weight`), eps);
        v = rmsNorm(add(v, mul(select('v_select', E), past(vCur))), this.w(`${p}v_norm.weight`), eps);
      }
      const qr = q.slice();
      const kr = k.slice();
      const out = new Float32Array(E);
      for (let h = 0; h < H; h++) {
        rotate(qr, h);
        rotate(kr, h);
        // S_h <- gamma S_h + k'^T v (stored transposed: kv[e][j] = S[j][e]);  o_h = q' S_h / sqrt(c_h).
        const s = state.kv.subarray((l * H + h) * dv * dk, (l * H + h + 1) * dv * dk);
        const o = new Float32Array(dv);
        for (let e = 0; e < dv; e++) {
          let acc = 0;
          for (let j = 0; j < dk; j++) {
            const idx = e * dk + j;
            s[idx] = this.gammas[h] * s[idx] + kr[h * dk + j] * v[h * dv + e];
            acc += qr[h * dk + j] * s[idx];
          }
          o[e] = acc / Math.sqrt(state.count[h]);
        }
        out.set(rmsNorm(o, this.w(`${p}group_norm.weight`), eps), h * dv);
      }
      hidden = add(hidden, matvec(this.w(`${p}to_out.0.weight`), mul(out, gate), d));
    }
    state.position = n + 1;
    const normed = rmsNorm(hidden, this.w('model.norm.weight'), eps);
    const head =
      this.weights.has('lm_head.weight') && !this.config.tieWordEmbeddings
        ? 'lm_head.weight'
        : 'model.embed_tokens.weight';
    return { logits: matvec(this.w(head), normed, V), hidden: normed };
  }
}
