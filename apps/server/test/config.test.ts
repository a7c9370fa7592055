import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, parseConfig } from '../src/config.js';
import { ConfigError } from '../src/errors.js';

describe('parseConfig', () => {
  it('binds loopback by default and needs a model unless the fake engine is asked for', () => {
    expect(() => parseConfig([], {})).toThrow(ConfigError);
    const parsed = parseConfig(['--engine', 'fake'], {});
    expect(parsed).toEqual({ help: false, config: { ...DEFAULT_CONFIG, engine: 'fake' } });
    expect(DEFAULT_CONFIG.host).toBe('127.0.0.1');
  });

  it('reads the environment, and flags win over it', () => {
    const env = {
      DENSESSM_MODEL: '/models/a',
      DENSESSM_PORT: '9000',
      DENSESSM_MAX_BATCH: '4',
      DENSESSM_API_KEY: 'secret-key',
    };
    const fromEnv = parseConfig([], env);
    expect(fromEnv.help).toBe(false);
    if (fromEnv.help) return;
    expect(fromEnv.config).toMatchObject({
      modelPath: '/models/a',
      port: 9000,
      maxBatch: 4,
      apiKey: 'secret-key',
    });
    const flagged = parseConfig(['--port', '9100', '--host', '0.0.0.0', '--max-batch', '8'], env);
    if (flagged.help) throw new Error('unexpected help');
    expect(flagged.config).toMatchObject({
      port: 9100,
      host: '0.0.0.0',
      maxBatch: 8,
      modelPath: '/models/a',
    });
  });

  it('rejects malformed values with the flag and the variable named', () => {
    expect(() => parseConfig(['--engine', 'fake', '--port', '70000'], {})).toThrow(
      /--port \(DENSESSM_PORT\)/,
    );
    expect(() => parseConfig(['--engine', 'fake', '--max-batch', '2.5'], {})).toThrow(/integer/);
    expect(() => parseConfig(['--engine', 'fake'], { DENSESSM_MAX_QUEUE: '-1' })).toThrow(
      /DENSESSM_MAX_QUEUE/,
    );
    expect(() => parseConfig(['--engine', 'fake', '--nope'], {})).toThrow(/--help/);
    expect(() => parseConfig(['--engine', 'fake', '--api-key', 'short'], {})).toThrow(/at least 8/);
    expect(() => parseConfig(['--engine', 'gpu'], {})).toThrow(/'model' or 'fake'/);
    expect(() => parseConfig(['--engine', 'fake', '--log-level', 'loud'], {})).toThrow(ConfigError);
  });

  it('answers --help', () => {
    expect(parseConfig(['--help'], {})).toEqual({ help: true });
  });
});

describe('default model', () => {
  it('serves the shipped default when neither the flag nor the environment names a model', () => {
    const parsed = parseConfig([], {}, '/repo/models/shipped');
    expect(parsed.help ? null : parsed.config.modelPath).toBe('/repo/models/shipped');
    const flagged = parseConfig(['--model', '/other'], {}, '/repo/models/shipped');
    expect(flagged.help ? null : flagged.config.modelPath).toBe('/other');
    const fake = parseConfig(['--engine', 'fake'], {}, '/repo/models/shipped');
    expect(fake.help ? null : fake.config.modelPath).toBeNull();
  });
});
