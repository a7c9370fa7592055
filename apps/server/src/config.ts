import { parseArgs } from 'node:util';
import { ConfigError } from './errors.js';

export interface ServerConfig {
  /** Model folder (HF-style); null with `engine: 'fake'`. */
  modelPath: string | null;
  /** The id clients send as `model`; defaults to the folder's name. */
  modelName: string | null;
  engine: 'model' | 'fake';
  host: string;
  port: number;
  apiKey: string | null;
  /** Sequences decoded together at most (continuous batching). */
  maxBatch: number;
  /** Requests allowed to wait for a slot; beyond that a request gets 429. */
  maxQueue: number;
  maxTokensCap: number;
  defaultMaxTokens: number;
  bodyLimitBytes: number;
  threads: number | null;
  /** Draft model folder (same tokenizer) for the `draft-model` drafter and `auto`. */
  draftModelPath: string | null;
  /** Drafter used when a request names none (`none` turns speculation off). */
  drafter: string;
  /** How long a graceful shutdown lets running requests finish before cancelling them. */
  shutdownGraceMs: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
}

export const DEFAULT_CONFIG: ServerConfig = {
  modelPath: null,
  modelName: null,
  engine: 'model',
  host: '127.0.0.1',
  port: 8000,
  apiKey: null,
  maxBatch: 16,
  maxQueue: 64,
  maxTokensCap: 2048,
  defaultMaxTokens: 256,
  bodyLimitBytes: 1024 * 1024,
  threads: null,
  draftModelPath: null,
  drafter: 'auto',
  shutdownGraceMs: 10_000,
  logLevel: 'info',
};

/** Flag name, environment variable, and how to read it. */
const OPTIONS = {
  model: { env: 'DENSESSM_MODEL', help: 'model folder (default: the shipped models/DEFAULT)' },
  'model-name': { env: 'DENSESSM_MODEL_NAME', help: "id clients send as 'model' (default: the folder name)" },
  engine: {
    env: 'DENSESSM_ENGINE',
    help: "'model' (default) or 'fake' (no model; exercises the HTTP layer)",
  },
  host: { env: 'DENSESSM_HOST', help: 'address to bind (default 127.0.0.1: loopback only)' },
  port: { env: 'DENSESSM_PORT', help: 'port (default 8000; 0 picks a free one)' },
  'api-key': {
    env: 'DENSESSM_API_KEY',
    help: 'require "Authorization: Bearer <key>" (all routes but /health)',
  },
  'max-batch': { env: 'DENSESSM_MAX_BATCH', help: 'sequences decoded together (default 16)' },
  'max-queue': {
    env: 'DENSESSM_MAX_QUEUE',
    help: 'requests that may wait for a slot before 429 (default 64)',
  },
  'max-tokens-cap': {
    env: 'DENSESSM_MAX_TOKENS_CAP',
    help: 'largest max_tokens a request may ask for (default 2048)',
  },
  'default-max-tokens': {
    env: 'DENSESSM_DEFAULT_MAX_TOKENS',
    help: 'max_tokens when a request omits it (default 256)',
  },
  'body-limit': { env: 'DENSESSM_BODY_LIMIT', help: 'request body limit in bytes (default 1048576)' },
  threads: { env: 'DENSESSM_THREADS', help: 'onnxruntime intra-op threads (default: its own choice)' },
  'draft-model': {
    env: 'DENSESSM_DRAFT_MODEL',
    help: 'draft model folder (default: <model>/draft or the one sibling *-draft)',
  },
  drafter: { env: 'DENSESSM_DRAFTER', help: "default drafter ('auto', 'none' or a drafter name)" },
  'shutdown-grace': {
    env: 'DENSESSM_SHUTDOWN_GRACE_MS',
    help: 'ms to let requests finish on SIGTERM (default 10000)',
  },
  'log-level': { env: 'DENSESSM_LOG_LEVEL', help: 'debug | info | warn | error | silent (default info)' },
} as const;

type OptionName = keyof typeof OPTIONS;

export function usage(): string {
  const lines = Object.entries(OPTIONS).map(
    ([flag, { env, help }]) => `  --${flag.padEnd(20)} ${help}\n  ${''.padEnd(22)} env ${env}`,
  );
  return [
    'Usage: densessm-server [--model <folder>] [options]',
    '',
    'OpenAI-compatible server (GET /v1/models, POST /v1/completions, POST /v1/chat/completions, GET /health,',
    'GET /metrics). Flags win over environment variables.',
    '',
    ...lines,
    '  --help                 this text',
  ].join('\n');
}

function integer(name: OptionName, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(
      `--${name} (${OPTIONS[name].env}) must be an integer in [${min}, ${max}], got '${raw}'.`,
    );
  }
  return value;
}

export type ParsedCli = { help: true } | { help: false; config: ServerConfig };

export function parseConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  /** The model to serve when neither --model nor DENSESSM_MODEL names one (the CLI passes the shipped default). */
  defaultModelPath: string | null = null,
): ParsedCli {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        ...Object.fromEntries(Object.keys(OPTIONS).map((name) => [name, { type: 'string' as const }])),
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new ConfigError(
      `${error instanceof Error ? error.message : String(error)}. Run with --help for the options.`,
    );
  }
  if (parsed.values.help) return { help: true };
  const read = (name: OptionName): string | undefined => {
    const flag = parsed.values[name];
    if (typeof flag === 'string') return flag;
    const fromEnv = env[OPTIONS[name].env];
    return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
  };
  const config: ServerConfig = { ...DEFAULT_CONFIG };
  const engine = read('engine');
  if (engine !== undefined) {
    if (engine !== 'model' && engine !== 'fake')
      throw new ConfigError(`--engine must be 'model' or 'fake', got '${engine}'.`);
    config.engine = engine;
  }
  config.modelPath = read('model') ?? (config.engine === 'model' ? defaultModelPath : null);
  config.modelName = read('model-name') ?? null;
  config.host = read('host') ?? config.host;
  config.apiKey = read('api-key') ?? null;
  config.drafter = read('drafter') ?? config.drafter;
  config.draftModelPath = read('draft-model') ?? null;
  const numbers: [OptionName, keyof ServerConfig, number, number][] = [
    ['port', 'port', 0, 65535],
    ['max-batch', 'maxBatch', 1, 1024],
    ['max-queue', 'maxQueue', 0, 100_000],
    ['max-tokens-cap', 'maxTokensCap', 1, 1_000_000],
    ['default-max-tokens', 'defaultMaxTokens', 1, 1_000_000],
    ['body-limit', 'bodyLimitBytes', 1024, 1024 * 1024 * 1024],
    ['threads', 'threads', 1, 1024],
    ['shutdown-grace', 'shutdownGraceMs', 0, 3_600_000],
  ];
  for (const [name, key, min, max] of numbers) {
    const raw = read(name);
    if (raw !== undefined) (config as unknown as Record<string, number>)[key] = integer(name, raw, min, max);
  }
  const level = read('log-level');
  if (level !== undefined) {
    if (!['debug', 'info', 'warn', 'error', 'silent'].includes(level)) {
      throw new ConfigError(`--log-level must be debug, info, warn, error or silent, got '${level}'.`);
    }
    config.logLevel = level as ServerConfig['logLevel'];
  }
  if (config.engine === 'model' && config.modelPath === null) {
    throw new ConfigError(
      'No model: pass --model <folder> (or DENSESSM_MODEL; no shipped models/DEFAULT was found), or --engine fake.',
    );
  }
  if (config.apiKey !== null && config.apiKey.length < 8) {
    throw new ConfigError('--api-key must be at least 8 characters.');
  }
  return { help: false, config };
}
