#!/usr/bin/env node
// Bounded load test for the densessm OpenAI-compatible server: N concurrent streaming clients on loopback for
// T seconds. Reports throughput (generated tokens/s over the run), time to first token p50/p99, end-to-end
// latency and errors. Either targets a running server (--url) or starts one (--spawn="<server flags>").
// A benchmark, not a test: it never fails on a timing.
//
//   node bench/server/load-test.mjs --spawn="--engine fake" --clients 8 --duration 10
//   node bench/server/load-test.mjs --url http://127.0.0.1:8000 --model my-model --clients 32 --duration 20
//   node bench/server/load-test.mjs --spawn="--model models/x" --matrix 1,8,32 --drafters none,auto \
//        --duration 15 --out bench/results/server-x.json
import { spawn } from 'node:child_process';
import { createWriteStream, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    spawn: { type: 'string' },
    model: { type: 'string' },
    'api-key': { type: 'string' },
    clients: { type: 'string', default: '8' },
    duration: { type: 'string', default: '10' },
    'max-tokens': { type: 'string', default: '64' },
    endpoint: { type: 'string', default: 'chat' },
    temperature: { type: 'string', default: '0' },
    drafter: { type: 'string' },
    matrix: { type: 'string' },
    drafters: { type: 'string' },
    repeats: { type: 'string', default: '1' },
    out: { type: 'string' },
    note: { type: 'string' },
    'server-log': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (args.help) {
  console.log(
    'usage: load-test.mjs (--url URL | --spawn "FLAGS") [--model ID] [--clients N] [--duration S] [--max-tokens N]\n' +
      '       [--endpoint chat|completions] [--temperature T] [--drafter NAME] [--matrix 1,8,32 --drafters none,auto]\n' +
      '       [--repeats R] [--api-key KEY] [--out results.json]',
  );
  process.exit(0);
}

const MAX_CLIENTS = 256;
const MAX_DURATION_S = 300;
const intArg = (name, min, max) => {
  const value = Number(args[name]);
  if (!Number.isInteger(value) || value < min || value > max) {
    console.error(`--${name} must be an integer in [${min}, ${max}]`);
    process.exit(2);
  }
  return value;
};

const PROMPTS = [
  'Explain how a state space model keeps its context in a fixed-size state.',
  'Write a short story about a lighthouse keeper who collects sounds.',
  'List five practical tips for writing readable TypeScript.',
  'Summarise the idea of speculative decoding in two sentences.',
  'Describe the water cycle to a ten year old.',
  'def fibonacci(n):\n    """Return the n-th Fibonacci number."""\n',
  'Translate into French: the quick brown fox jumps over the lazy dog.',
  'What are the trade-offs between batching and latency in an inference server?',
];

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round(sorted[index] * 10) / 10;
}

async function startServer(flags) {
  const cli = fileURLToPath(new URL('../../apps/server/dist/cli.js', import.meta.url));
  // Our --port and --log-level come last and win: the readiness check below reads the info-level log lines.
  const child = spawn(process.execPath, [cli, ...splitFlags(flags), '--port', '0', '--log-level', 'info'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let buffered = '';
  if (args['server-log']) child.stderr.pipe(createWriteStream(args['server-log']));
  child.once('exit', (code, signal) => {
    if (!stopping) console.error(`server exited unexpectedly: code ${code}, signal ${signal}`);
  });
  let stopping = false;
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start within 120 s')), 120_000);
    child.stderr.on('data', (chunk) => {
      buffered += chunk;
      for (const line of buffered.split('\n')) {
        try {
          const entry = JSON.parse(line);
          if (entry.msg === 'listening') child.url = entry.url;
          if (entry.msg === 'model loaded' && child.url) {
            clearTimeout(timer);
            resolve(child.url);
          }
          if (entry.msg === 'model failed to load') reject(new Error(entry.error));
        } catch {}
      }
      buffered = buffered.slice(buffered.lastIndexOf('\n') + 1);
    });
    child.once('exit', (code) => reject(new Error(`server exited with code ${code}`)));
  });
  const stop = () =>
    new Promise((resolve) => {
      stopping = true;
      child.once('exit', resolve);
      child.kill('SIGTERM');
    });
  return { url, stop };
}

function splitFlags(flags) {
  return (flags.match(/"[^"]*"|\S+/g) ?? []).map((f) => f.replace(/^"|"$/g, ''));
}

/** One streaming request; resolves with its timings (never throws). */
async function streamOnce(base, model, index, options, signal) {
  const started = performance.now();
  const prompt = PROMPTS[index % PROMPTS.length];
  const body =
    options.endpoint === 'chat'
      ? { model, messages: [{ role: 'user', content: prompt }] }
      : { model, prompt };
  Object.assign(body, {
    max_tokens: options.maxTokens,
    temperature: options.temperature,
    stream: true,
    stream_options: { include_usage: true },
    ...(options.drafter ? { drafter: options.drafter } : {}),
  });
  const path = options.endpoint === 'chat' ? '/v1/chat/completions' : '/v1/completions';
  try {
    const response = await fetch(base + path, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
      },
      body: JSON.stringify(body),
      signal,
    });
    if (response.status !== 200) {
      await response.text();
      return { ok: false, error: `HTTP ${response.status}` };
    }
    const decoder = new TextDecoder();
    let pending = '';
    let ttft = null;
    let usage = null;
    let done = false;
    for await (const chunk of response.body) {
      pending += decoder.decode(chunk, { stream: true });
      let cut = pending.indexOf('\n\n');
      while (cut >= 0) {
        const event = pending.slice(0, cut);
        pending = pending.slice(cut + 2);
        cut = pending.indexOf('\n\n');
        if (!event.startsWith('data: ')) continue;
        const data = event.slice(6);
        if (data === '[DONE]') {
          done = true;
          continue;
        }
        const parsed = JSON.parse(data);
        if (parsed.error) return { ok: false, error: parsed.error.code ?? 'stream_error' };
        const choice = parsed.choices?.[0];
        const text = choice?.delta?.content ?? choice?.text ?? '';
        if (ttft === null && text.length > 0) ttft = performance.now() - started;
        if (parsed.usage) usage = parsed.usage;
      }
    }
    if (!done || !usage) return { ok: false, error: 'incomplete_stream' };
    return {
      ok: true,
      ttft: ttft ?? performance.now() - started,
      e2e: performance.now() - started,
      tokens: usage.completion_tokens,
    };
  } catch (error) {
    return {
      ok: false,
      error: signal.aborted ? 'aborted_at_deadline' : (error.cause?.code ?? error.message),
    };
  }
}

async function runLoad(base, model, options) {
  const deadline = performance.now() + options.durationS * 1000;
  const hardStop = new AbortController();
  const hardTimer = setTimeout(() => hardStop.abort(), options.durationS * 1000 + 60_000);
  const results = [];
  let issued = 0;
  const started = performance.now();
  const client = async () => {
    while (performance.now() < deadline) {
      results.push(await streamOnce(base, model, issued++, options, hardStop.signal));
    }
  };
  await Promise.all(Array.from({ length: options.clients }, client));
  clearTimeout(hardTimer);
  const elapsedS = (performance.now() - started) / 1000;
  const ok = results.filter((r) => r.ok);
  const errors = {};
  for (const r of results) if (!r.ok) errors[r.error] = (errors[r.error] ?? 0) + 1;
  const ttft = ok.map((r) => r.ttft).sort((a, b) => a - b);
  const e2e = ok.map((r) => r.e2e).sort((a, b) => a - b);
  const tokens = ok.reduce((sum, r) => sum + r.tokens, 0);
  return {
    clients: options.clients,
    drafter: options.drafter ?? 'server-default',
    duration_s: Math.round(elapsedS * 100) / 100,
    requests: results.length,
    completed: ok.length,
    errors,
    generated_tokens: tokens,
    tokens_per_s: Math.round((tokens / elapsedS) * 10) / 10,
    ttft_ms: { p50: percentile(ttft, 50), p99: percentile(ttft, 99) },
    e2e_ms: { p50: percentile(e2e, 50), p99: percentile(e2e, 99) },
  };
}

async function main() {
  if (!args.url && !args.spawn) {
    console.error('pass --url of a running server or --spawn "<server flags>" (see --help)');
    process.exit(2);
  }
  const clients = args.matrix ? args.matrix.split(',').map(Number) : [intArg('clients', 1, MAX_CLIENTS)];
  if (clients.some((c) => !Number.isInteger(c) || c < 1 || c > MAX_CLIENTS)) {
    console.error(`--matrix entries must be integers in [1, ${MAX_CLIENTS}]`);
    process.exit(2);
  }
  const drafters = args.drafters ? args.drafters.split(',') : [args.drafter];
  const options = {
    durationS: intArg('duration', 1, MAX_DURATION_S),
    maxTokens: intArg('max-tokens', 1, 4096),
    temperature: Number(args.temperature),
    endpoint: args.endpoint === 'completions' ? 'completions' : 'chat',
    apiKey: args['api-key'],
  };
  const repeats = intArg('repeats', 1, 9);
  const loadBefore = Math.round(loadavg()[0] * 100) / 100;
  const server = args.spawn ? await startServer(args.spawn) : null;
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      // Do not leave the spawned server behind.
      void (server?.stop() ?? Promise.resolve()).then(() => process.exit(130));
    });
  }
  const base = (server?.url ?? args.url).replace(/\/$/, '');
  try {
    const headers = args['api-key'] ? { authorization: `Bearer ${args['api-key']}` } : {};
    const models = await (await fetch(`${base}/v1/models`, { headers })).json();
    const model = args.model ?? models.data[0].id;
    // Warm-up: one short request so session creation is not in the first measurement.
    await streamOnce(
      base,
      model,
      0,
      { ...options, maxTokens: 4, apiKey: args['api-key'] },
      new AbortController().signal,
    );
    const runs = [];
    for (const drafter of drafters) {
      for (const n of clients) {
        const attempts = [];
        for (let r = 0; r < repeats; r++) {
          attempts.push(await runLoad(base, model, { ...options, clients: n, drafter }));
        }
        // Median run by throughput (DESIGN.md section 7: median of repeated runs).
        attempts.sort((a, b) => a.tokens_per_s - b.tokens_per_s);
        const median = attempts[Math.floor(attempts.length / 2)];
        runs.push({ ...median, repeats });
        console.error(
          `clients=${n} drafter=${median.drafter}: ${median.tokens_per_s} tok/s, ttft p50 ${median.ttft_ms.p50} ms p99 ${median.ttft_ms.p99} ms, ` +
            `${median.completed}/${median.requests} ok, errors ${JSON.stringify(median.errors)}`,
        );
      }
    }
    const report = {
      bench: 'server-load',
      ...(args.note ? { note: args.note } : {}),
      date: new Date().toISOString(),
      server: args.spawn ? `densessm-server ${args.spawn}` : base,
      model,
      endpoint: options.endpoint,
      max_tokens: options.maxTokens,
      temperature: options.temperature,
      node: process.version,
      cpus: availableParallelism(),
      // The machine's 1-minute load average before and after: timings from a shared machine are only comparable
      // within one report (DESIGN.md section 7).
      load_average: { before: loadBefore, after: Math.round(loadavg()[0] * 100) / 100 },
      runs,
    };
    const text = JSON.stringify(report, null, 2);
    if (args.out) writeFileSync(args.out, `${text}\n`);
    console.log(text);
  } finally {
    await server?.stop();
  }
}

await main();
