import { ModelError } from './errors.js';

/** `config.json` as parsed JSON. */
export type RawConfig = Readonly<Record<string, unknown>>;

/** Fields every architecture's parsed config carries. */
export interface BaseModelConfig {
  readonly modelType: string;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  /** lm_head shares the embedding matrix (also implied when `lm_head.weight` is absent). */
  readonly tieWordEmbeddings: boolean;
}

interface NumberRule {
  min?: number;
  default?: number;
}

/** Reads typed keys of a config, naming the file and key in every error. */
export class ConfigReader {
  constructor(
    readonly raw: RawConfig,
    readonly file: string,
  ) {}

  private fail(key: string, expected: string, value: unknown): never {
    throw new ModelError(
      'INVALID_CONFIG',
      `${this.file}: key '${key}' must be ${expected}, got ${JSON.stringify(value)}; fix config.json`,
    );
  }

  has(key: string): boolean {
    return this.raw[key] !== undefined && this.raw[key] !== null;
  }

  private numeric(key: string, rule: NumberRule, kind: 'an integer' | 'a number'): number {
    const value = this.has(key) ? this.raw[key] : rule.default;
    if (value === undefined) this.fail(key, `${kind} (required)`, this.raw[key]);
    const ok = kind === 'an integer' ? Number.isInteger(value) : Number.isFinite(value);
    if (typeof value !== 'number' || !ok)
      this.fail(key, kind === 'an integer' ? kind : 'a finite number', value);
    if (rule.min !== undefined && value < rule.min) this.fail(key, `${kind} >= ${rule.min}`, value);
    return value;
  }

  int(key: string, rule: NumberRule = {}): number {
    return this.numeric(key, rule, 'an integer');
  }

  number(key: string, rule: NumberRule = {}): number {
    return this.numeric(key, rule, 'a number');
  }

  bool(key: string, fallback: boolean): boolean {
    if (!this.has(key)) return fallback;
    const value = this.raw[key];
    if (typeof value !== 'boolean') this.fail(key, 'true or false', value);
    return value;
  }

  /** Fails with `${file}: ${requirement}` unless `ok` (for constraints between keys). */
  check(ok: boolean, requirement: string): void {
    if (!ok) throw new ModelError('INVALID_CONFIG', `${this.file}: ${requirement}; fix config.json`);
  }
}
