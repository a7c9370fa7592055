/** The page: controls, streamed text and stats. All model work happens in generation-worker.ts. */
import type { DrafterName, FromWorker, ModelIndex, ToWorker } from './protocol.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  status: $<HTMLParagraphElement>('status'),
  progress: $<HTMLProgressElement>('progress'),
  prompt: $<HTMLTextAreaElement>('prompt'),
  maxTokens: $<HTMLInputElement>('max-tokens'),
  temperature: $<HTMLInputElement>('temperature'),
  drafter: $<HTMLSelectElement>('drafter'),
  generate: $<HTMLButtonElement>('generate'),
  stop: $<HTMLButtonElement>('stop'),
  output: $<HTMLPreElement>('output'),
  stats: $<HTMLParagraphElement>('stats'),
  error: $<HTMLParagraphElement>('error'),
};

const params = new URLSearchParams(location.search);
const worker = new Worker(new URL('./generation-worker.ts', import.meta.url), { type: 'module' });
const send = (message: ToWorker) => worker.postMessage(message);

function setBusy(busy: boolean): void {
  ui.generate.disabled = busy;
  ui.stop.disabled = !busy;
  document.body.dataset.state = busy ? 'generating' : 'idle';
}

function showError(message: string): void {
  ui.error.textContent = `Error: ${message}`;
  ui.error.hidden = false;
  document.body.dataset.state = 'error';
  ui.generate.disabled = true;
  ui.stop.disabled = true;
}

worker.onmessage = (event: MessageEvent<FromWorker>) => {
  const m = event.data;
  switch (m.type) {
    case 'progress':
      ui.progress.max = m.totalBytes;
      ui.progress.value = m.loadedBytes;
      ui.status.textContent = `Loading ${m.file}: ${(m.loadedBytes / 1e6).toFixed(1)} / ${(m.totalBytes / 1e6).toFixed(1)} MB`;
      break;
    case 'ready':
      ui.progress.hidden = true;
      ui.status.textContent = `${m.modelType} on ${m.backend}`;
      for (const option of Array.from(ui.drafter.options))
        option.disabled = !m.drafters.includes(option.value as DrafterName);
      setBusy(false);
      break;
    case 'token':
      ui.output.textContent += m.text;
      break;
    case 'done': {
      const s = m.stats;
      ui.output.textContent = m.text;
      ui.stats.textContent = `${s.tokens} tokens in ${s.seconds.toFixed(2)} s: ${s.tokensPerSecond.toFixed(1)} tokens/s, mean accepted length ${s.meanAcceptedLength.toFixed(2)}, drafter ${s.drafter}, finish: ${s.finishReason}`;
      setBusy(false);
      break;
    }
    case 'error':
      showError(m.message);
      break;
  }
};
worker.onerror = (event) => showError(event.message || 'the generation worker failed to start');

ui.generate.onclick = () => {
  ui.output.textContent = '';
  ui.stats.textContent = '';
  setBusy(true);
  send({
    type: 'generate',
    prompt: ui.prompt.value,
    maxTokens: Math.max(1, Number(ui.maxTokens.value) || 64),
    temperature: Math.max(0, Number(ui.temperature.value) || 0),
    seed: Number(params.get('seed') ?? 0),
    drafter: ui.drafter.value as DrafterName,
  });
};
ui.stop.onclick = () => send({ type: 'stop' });

async function start(): Promise<void> {
  let modelUrl = params.get('model');
  if (!modelUrl) {
    const index: ModelIndex = await fetch(new URL('models/index.json', location.href)).then((r) =>
      r.ok ? r.json() : { models: {} },
    );
    if (!index.default) throw new Error('this build ships no model; open the page with ?model=<folder URL>');
    modelUrl = `models/${index.default}/`;
  }
  const threads = crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  const providers: ('webgpu' | 'wasm')[] = params.get('webgpu') === '0' ? ['wasm'] : ['webgpu', 'wasm'];
  send({
    type: 'load',
    modelUrl: new URL(modelUrl, location.href).href,
    threads: Number(params.get('threads') ?? threads),
    providers,
  });
}

setBusy(true);
ui.stop.disabled = true;
start().catch((e: unknown) => showError(e instanceof Error ? e.message : String(e)));
