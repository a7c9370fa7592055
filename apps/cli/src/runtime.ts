import { join } from 'node:path';
import type { LanguageModel } from '@densessm/models';
import type { Backend } from '@densessm/tensor';
import { type PreparedDrafter, prepareDrafter } from './drafters.js';
import { readConfigJson, resolveModelFolder } from './model-location.js';
import type { BackendName, DrafterChoice } from './options.js';
import type { Terminal } from './terminal.js';
import { type CliTokenizer, checkTokenizerFits, loadTokenizer } from './tokenizer.js';

/**
 * The one place the CLI reaches into the engine's packages. They are imported lazily so that `--help`,
 * `models` and argument errors never pay for loading onnxruntime.
 */
export async function openBackend(name: BackendName, threads: number | undefined): Promise<Backend> {
  if (name === 'web') {
    const { createWebBackend } = await import('@densessm/backend-web');
    return createWebBackend({ threads, executionProviders: ['wasm'] });
  }
  const { createNodeBackend } = await import('@densessm/backend-node');
  return createNodeBackend({ threads });
}

/**
 * --model / $DENSESSM_MODEL / the shipped default, checked to exist and to hold a config.json the engine
 * supports, before anything slow (tokenizer, weights) is read.
 */
export async function resolveModel(option: string | undefined): Promise<string> {
  const folder = resolveModelFolder(option);
  const { resolveConfig } = await import('@densessm/models');
  resolveConfig(readConfigJson(folder), join(folder, 'config.json'));
  return folder;
}

export interface LoadedTarget {
  readonly folder: string;
  readonly backend: Backend;
  readonly model: LanguageModel;
  /** Seconds the load took (read weights, build and compile graphs). */
  readonly loadSeconds: number;
}

/** Loads a model folder onto a backend, telling the user what is happening (load can take seconds). */
export async function loadTarget(
  folder: string,
  options: { backend: BackendName; threads?: number },
  terminal: Terminal,
): Promise<LoadedTarget> {
  const started = performance.now();
  const backend = await openBackend(options.backend, options.threads);
  const { loadModel } = await import('@densessm/models');
  const spinner = startActivity(`loading ${folder}`, terminal);
  try {
    const model = await loadModel(folder, { backend, threads: options.threads });
    const loadSeconds = (performance.now() - started) / 1000;
    spinner.done(`loaded ${model.modelType} model in ${loadSeconds.toFixed(1)} s (backend ${backend.name})`);
    return { folder, backend, model, loadSeconds };
  } catch (error) {
    spinner.fail();
    throw error;
  }
}

/** Loads another model folder (a draft model) on an already open backend. */
export async function openModelOnBackend(
  folder: string,
  backend: Backend,
  threads: number | undefined,
): Promise<LanguageModel> {
  const { loadModel } = await import('@densessm/models');
  return loadModel(folder, { backend, threads });
}

/** A one-line "working..." indicator: redrawn on a TTY, a single plain line otherwise, nothing with --quiet. */
export function startActivity(
  label: string,
  terminal: Terminal,
): { done(message: string): void; fail(): void } {
  if (terminal.quiet) return { done() {}, fail() {} };
  const stream = terminal.err;
  if (!stream.isTTY) {
    return {
      done: (message) => stream.write(`${message}\n`),
      fail() {},
    };
  }
  const frames = ['|', '/', '-', '\\'];
  let frame = 0;
  const started = performance.now();
  const draw = () => {
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    stream.write(
      `\r\x1b[2K${frames[frame++ % frames.length]} ${label} ${terminal.paintErr('dim', `${seconds} s`)}`,
    );
  };
  draw();
  const timer = setInterval(draw, 120);
  timer.unref();
  return {
    done(message) {
      clearInterval(timer);
      stream.write(`\r\x1b[2K${terminal.paintErr('dim', message)}\n`);
    },
    fail() {
      clearInterval(timer);
      stream.write('\r\x1b[2K');
    },
  };
}

/** Everything `generate` and `chat` run on: tokenizer, target model, drafter. */
export interface GenerationSession {
  readonly tokenizer: CliTokenizer;
  readonly target: LoadedTarget;
  readonly drafter: PreparedDrafter;
  close(): Promise<void>;
}

/**
 * Loads in the order that fails fastest: tokenizer (small files), then the model, then the drafter and its
 * assets (they need the model).
 */
export async function openGenerationSession(
  folder: string,
  options: { backend: BackendName; threads?: number },
  drafterChoice: DrafterChoice,
  terminal: Terminal,
): Promise<GenerationSession> {
  const tokenizer = await loadTokenizer(folder);
  const target = await loadTarget(folder, options, terminal);
  checkTokenizerFits(tokenizer, target.model, terminal);
  const drafter = await prepareDrafter(drafterChoice, {
    target: target.model,
    modelFolder: folder,
    loadModel: (f) => openModelOnBackend(f, target.backend, options.threads),
  });
  return {
    tokenizer,
    target,
    drafter,
    async close() {
      await drafter.dispose();
      await target.model.dispose();
    },
  };
}
