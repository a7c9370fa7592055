import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeBackend } from '@densessm/backend-node';
import { type LanguageModel, loadModel } from '@densessm/models';
import { float32 } from '@densessm/tensor';
import { writeSafetensorsFile } from '@densessm/tensor/node';
import { loadTokenizerFromDirectory } from '@densessm/tokenizers/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, STACK_LINE } from './run-cli.js';
import { writeDrafterAssets, writeTinyModel } from './tiny-model.js';

let model: string;
let endless: string;
let work: string;

beforeAll(async () => {
  model = await writeTinyModel();
  endless = await writeTinyModel({ eos: false });
  work = mkdtempSync(join(tmpdir(), 'densessm-cli-test-'));
});

interface GenerateJson {
  model: string;
  drafter: string;
  prompt: string;
  text: string;
  tokens: number[];
  stats: {
    promptTokens: number;
    generatedTokens: number;
    seconds: number;
    tokensPerSecond: number;
    timeToFirstTokenMs: number | null;
    meanAcceptedLength: number;
    targetPasses: number;
    drafter: string;
    finishReason: string;
  };
}

describe('densessm generate', () => {
  it('--json gives one JSON object with the text and the stats', async () => {
    const run = await runCli([
      'generate',
      '--model',
      endless,
      '--json',
      '-n',
      '24',
      '--draft',
      'none',
      'Once upon a time',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as GenerateJson;
    expect(out.prompt).toBe('Once upon a time');
    expect(out.tokens).toHaveLength(24);
    expect(typeof out.text).toBe('string');
    expect(out.text.length).toBeGreaterThan(0);
    expect(out.stats).toMatchObject({
      promptTokens: 16,
      generatedTokens: 24,
      drafter: 'none',
      finishReason: 'length',
    });
    expect(out.stats.tokensPerSecond).toBeGreaterThan(0);
    expect(out.stats.timeToFirstTokenMs).toBeGreaterThan(0);
    // Plain decoding: one token per target pass (the first comes from the prefill).
    expect(out.stats.meanAcceptedLength).toBe(1);
  });

  it('streams the same text it reports, then a speed line on stderr', async () => {
    const args = ['generate', '--model', endless, '-n', '24', '--draft', 'none', 'Once upon a time'];
    const [streamed, json] = await Promise.all([runCli(args), runCli([...args, '--json'])]);
    expect(streamed.code).toBe(0);
    const text = (JSON.parse(json.stdout) as GenerateJson).text;
    expect(streamed.stdout).toBe(`${text}\n`);
    expect(streamed.stderr).toMatch(
      /\[24 tokens in [\d.]+ s · [\d.]+ tok\/s · TTFT \d+ ms · mean accepted 1\.00 · drafter none\]/,
    );
  });

  it('reads the prompt from stdin', async () => {
    const run = await runCli(['generate', '--model', endless, '--json', '-n', '4'], {
      input: 'a prompt from a pipe\n',
    });
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as GenerateJson;
    expect(out.prompt).toBe('a prompt from a pipe');
    expect(out.stats.promptTokens).toBe('a prompt from a pipe'.length);
    expect(out.tokens).toHaveLength(4);
  });

  it('is lossless: greedy text with each drafter equals plain decoding', async () => {
    const prompt = 'the cat sat on the mat, the cat sat on the mat, the cat';
    const runs = await Promise.all(
      ['none', 'lookup', 'recycling', 'auto'].map((draft) =>
        runCli(['generate', '--model', endless, '--json', '-n', '32', '--draft', draft, prompt]),
      ),
    );
    const outs = runs.map((r) => JSON.parse(r.stdout) as GenerateJson);
    for (const out of outs.slice(1)) expect(out.tokens).toEqual(outs[0].tokens);
    expect(outs.map((o) => o.stats.drafter)).toEqual([
      'none',
      'lookup',
      'recycling',
      'auto (lookup+recycling)',
    ]);
  });

  it('runs every drafter on trained assets found in the model folder, losslessly', async () => {
    const withAssets = await writeTinyModel({ eos: false });
    await writeDrafterAssets(withAssets);
    const prompt = 'abc abc abc abc abc';
    const drafts = ['none', 'heads', 'lookahead', join(withAssets, 'draft'), 'auto'];
    const runs = await Promise.all(
      drafts.map((draft) =>
        runCli(['generate', '--model', withAssets, '--json', '-n', '16', '--draft', draft, prompt]),
      ),
    );
    for (const run of runs) expect(run.stderr).toBe('');
    const outs = runs.map((r) => JSON.parse(r.stdout) as GenerateJson);
    for (const out of outs.slice(1)) expect(out.tokens).toEqual(outs[0].tokens);
    expect(outs.map((o) => o.drafter)).toEqual([
      'none',
      'heads',
      'lookahead',
      'draft-model',
      'auto (lookup+recycling)',
    ]);
    const inspect = await runCli(['inspect', withAssets]);
    expect(inspect.stdout).toMatch(
      /drafters +draft model .*draft \(dense_retnet, [\d.]+K params\), heads .*medusa_heads\.safetensors \([\d.]+K params\), lookahead .*lookahead\.safetensors/,
    );
  });

  it('a heads file that does not fit: --draft heads fails (exit 3); auto does not read it', async () => {
    const odd = await writeTinyModel({ eos: false });
    await writeSafetensorsFile(join(odd, 'odd_heads.safetensors'), {
      'something.else': float32([2], [1, 2]),
    });
    const heads = await runCli(['generate', '--model', odd, '-n', '4', '--draft', 'heads', 'hi']);
    expect(heads.code).toBe(3);
    expect(heads.stderr).toMatch(
      /\ndensessm: error: .*odd_heads\.safetensors holds no medusa_heads\.0\.weight[^\n]*\n$/,
    );
    expect(heads.stderr).not.toMatch(STACK_LINE);
    const auto = await runCli(['generate', '--model', odd, '-n', '4', '--json', 'hi']);
    expect(auto.code).toBe(0);
    expect(auto.stderr).not.toMatch(/odd_heads/);
    expect((JSON.parse(auto.stdout) as GenerateJson).drafter).toBe('auto (lookup+recycling)');
  });

  it('samples reproducibly: the same --seed gives the same text, and the seed is reported', async () => {
    const args = [
      'generate',
      '--model',
      endless,
      '--json',
      '-n',
      '24',
      '--temperature',
      '0.9',
      '--top-p',
      '0.95',
    ];
    const [a, b, c] = await Promise.all([
      runCli([...args, '--seed', '7', 'Once']),
      runCli([...args, '--seed', '7', 'Once']),
      runCli([...args, '--seed', '8', 'Once']),
    ]);
    const [oa, ob, oc] = [a, b, c].map((r) => JSON.parse(r.stdout) as GenerateJson & { seed: number });
    expect(oa.seed).toBe(7);
    expect(ob.tokens).toEqual(oa.tokens);
    expect(oc.tokens).not.toEqual(oa.tokens);
  });

  it('ends at a --stop string, which is not printed', async () => {
    const base = JSON.parse(
      (await runCli(['generate', '--model', endless, '--json', '-n', '32', '--draft', 'none', 'Once']))
        .stdout,
    ) as GenerateJson;
    const at = [...base.text].findIndex((ch, i) => i >= 3 && /[A-Za-z0-9]/.test(ch));
    expect(at).toBeGreaterThan(0);
    const stop = [...base.text][at];
    const run = await runCli(['generate', '--model', endless, '--json', '-n', '32', '--stop', stop, 'Once']);
    const out = JSON.parse(run.stdout) as GenerateJson;
    expect(out.text).toBe(base.text.slice(0, base.text.indexOf(stop)));
    expect(out.stats.finishReason).toBe('stop');
  });

  it('stops cleanly on Ctrl-C: output so far, one line, exit 130', async () => {
    let sent = false;
    const run = await runCli(
      ['generate', '--model', endless, '-n', '1000000', '--draft', 'none', 'Count forever:'],
      {
        onStdout: (_chunk, child) => {
          if (!sent) {
            sent = true;
            child.kill('SIGINT');
          }
        },
      },
    );
    expect(sent).toBe(true);
    expect(run.code).toBe(130);
    expect(run.stdout.length).toBeGreaterThan(0);
    expect(run.stderr).toMatch(/\(interrupted\)\]\ndensessm: interrupted after \d+ tokens\n$/);
    expect(run.stderr).not.toMatch(STACK_LINE);
  });
});

describe('densessm chat', () => {
  it('answers two turns from a stdin script, carrying the history', async () => {
    const run = await runCli(['chat', '--model', endless, '--json', '-n', '8'], {
      input: 'Hello!\nTell me more.\n',
    });
    expect(run.code).toBe(0);
    const turns = run.stdout
      .trim()
      .split('\n')
      .map(
        (l) => JSON.parse(l) as { turn: number; user: string; text: string; stats: GenerateJson['stats'] },
      );
    expect(turns.map((t) => [t.turn, t.user])).toEqual([
      [1, 'Hello!'],
      [2, 'Tell me more.'],
    ]);
    for (const t of turns) expect(t.stats.generatedTokens).toBe(8);
    // Turn 2's prompt is the whole conversation: turn 1's prompt, its reply and the new message.
    expect(turns[1].stats.promptTokens).toBeGreaterThan(turns[0].stats.promptTokens + 8);
  });

  it('prints plain replies, one per line, without --json', async () => {
    const run = await runCli(['chat', '--model', endless, '-n', '6', '--quiet'], {
      input: 'Hi\n/reset\nHi\n',
    });
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(2);
    // After /reset the conversation is the same as the first one, so greedy gives the same reply.
    expect(lines[1]).toBe(lines[0]);
    expect(run.stderr).toBe('');
  });
});

describe('densessm eval', () => {
  let target: LanguageModel;
  let text: string;
  let file: string;

  beforeAll(async () => {
    target = await loadModel(model, { backend: createNodeBackend({ threads: 1 }) });
    text = 'The quick brown fox jumps over the lazy dog. '.repeat(4);
    file = join(work, 'eval.txt');
    writeFileSync(file, text);
  });
  afterAll(async () => {
    await target?.dispose();
  });

  /** Perplexity the plain way: one `step` per token through the library, log-softmax in float64. */
  async function libraryPerplexity(): Promise<number> {
    const { tokenizer } = await loadTokenizerFromDirectory(model);
    const ids = tokenizer.encode(text);
    const state = target.newState();
    let [out] = await target.prefill([{ state, tokens: Int32Array.of(ids[0]) }]);
    let nll = 0;
    for (let t = 1; t < ids.length; t++) {
      const logits = out.logits;
      const max = logits.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY);
      const sum = logits.reduce((a, b) => a + Math.exp(b - max), 0);
      nll += Math.log(sum) + max - logits[ids[t]];
      [out] = await target.step([{ state, token: ids[t] }]);
    }
    return Math.exp(nll / (ids.length - 1));
  }

  it('prints a perplexity matching the library, token by token', async () => {
    const expected = await libraryPerplexity();
    const run = await runCli(['eval', file, '--model', model, '--window', '1024']);
    expect(run.code).toBe(0);
    const printed = Number(/^perplexity ([\d.]+)\n$/.exec(run.stdout)?.[1]);
    expect(printed).toBeCloseTo(expected, 2);
    expect(Math.abs(printed - expected) / expected).toBeLessThan(1e-4);
    expect(run.stderr).toMatch(/eval: 100% \(179\/179 tokens/);
  });

  it('--json reports the windows; a sliding window scores every token once', async () => {
    const run = await runCli(['eval', file, '--model', model, '--window', '64', '--stride', '16', '--json']);
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as Record<string, number>;
    expect(out).toMatchObject({ tokens: 180, scoredTokens: 179, window: 64, stride: 16, windows: 9 });
    expect(out.perplexity).toBeCloseTo(Math.exp(out.meanNll), 10);
    expect(out.perplexity).toBeGreaterThan(1);
  });

  it('inspect reports parameters, bytes per dtype and the state size the library allocates', async () => {
    const run = await runCli(['inspect', model, '--json']);
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as {
      modelType: string;
      weights: { parameters: number; bytes: number; byDType: { dtype: string; bytes: number }[] };
      stateBytesPerSequence: number;
    };
    expect(out.modelType).toBe('dense_retnet');
    expect(out.weights.byDType).toEqual([
      expect.objectContaining({ dtype: 'F32', bytes: out.weights.parameters * 4 }),
    ]);
    expect(out.stateBytesPerSequence).toBe(target.newState().byteSize);
  });
});

describe('densessm bench', () => {
  it('--json writes a result file with plain decoding and every drafter', async () => {
    const prompts = join(work, 'prompts.txt');
    writeFileSync(prompts, 'one two three one two three\n\nabc abc abc abc\n');
    const out = join(work, 'results', 'bench.json');
    const benchArgs = ['bench', '--model', model, '--prompts', prompts, '--repeats', '1', '--out', out];
    const run = await runCli([...benchArgs, '-n', '8', '--batch-sizes', '1,2', '--json']);
    expect(run.code).toBe(0);
    const stdout = JSON.parse(run.stdout) as { file: string };
    expect(stdout.file).toBe(out);
    const result = JSON.parse(readFileSync(out, 'utf8')) as {
      schema: string;
      rows: {
        drafter: string;
        batchSize: number;
        tokensPerSecond: number;
        speedup: number;
        identicalToPlain: boolean;
      }[];
      skipped: { drafter: string; reason: string }[];
    };
    expect(result.schema).toBe('densessm-bench/1');
    for (const batchSize of [1, 2]) {
      const rows = result.rows.filter((r) => r.batchSize === batchSize);
      expect(rows.map((r) => r.drafter)).toEqual(['plain', 'lookup', 'recycling', 'auto (lookup+recycling)']);
      for (const r of rows) {
        expect(r.tokensPerSecond).toBeGreaterThan(0);
        expect(r.identicalToPlain).toBe(true);
      }
      expect(rows[0].speedup).toBe(1);
    }
    // --readme puts the Markdown table between its markers and leaves the rest of the file alone.
    const readme = join(work, 'README.md');
    writeFileSync(readme, '# Benchmarks\n\nHand-written notes.\n');
    for (let i = 0; i < 2; i++) {
      const again = await runCli([...benchArgs, '-n', '4', '--drafters', 'lookup', '--readme', readme, '-q']);
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(/^prompts +batch +drafter +tok\/s/);
    }
    const text = readFileSync(readme, 'utf8');
    expect(
      text.startsWith('# Benchmarks\n\nHand-written notes.\n\n## Speculative decoding (densessm bench)\n'),
    ).toBe(true);
    expect(text.match(/<!-- densessm bench: begin/g)).toHaveLength(1);
    expect(text).toMatch(
      /\n\| prompts \| batch \| drafter \| tok\/s \|.*\n\| --- \| ---: \| --- \| ---: \|.*\n\| prompts \| 1 \| plain \| [\d.]+ \| 1\.00x \|/,
    );
    // This random model ships no trained heads or lookahead embeddings: reported, not silently dropped.
    expect(result.skipped.map((s) => s.drafter)).toEqual(['heads', 'lookahead']);
    expect(result.skipped[0].reason).toMatch(/has no trained heads/);
  });
});

describe('bad input with a model', () => {
  it.each([
    [
      'a missing eval file',
      4,
      ['eval', '/nonexistent/text.txt'],
      /eval file '\/nonexistent\/text\.txt' does not exist/,
    ],
    ['a folder as eval file', 4, ['eval', tmpdir()], /is a folder, not a file/],
    [
      'an unknown prompt set',
      4,
      ['bench', '--prompts', 'no-such-set'],
      /prompt set 'no-such-set' is neither a file nor a set/,
    ],
    [
      '--top-k with greedy decoding',
      2,
      ['generate', '--top-k', '5', 'hi'],
      /--top-k\/--top-p need --temperature > 0/,
    ],
    [
      'a stride longer than the window',
      2,
      ['eval', '--window', '8', '--stride', '9', 'x'],
      /--stride must be between 1 and --window/,
    ],
  ])('%s: exit %d, one line', async (_what, code, args, message) => {
    const run = await runCli([...args, '--model', model]);
    expect(run.code).toBe(code);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).not.toMatch(STACK_LINE);
  });

  it('an empty eval file: exit 4', async () => {
    const empty = join(work, 'empty.txt');
    writeFileSync(empty, '  \n');
    const run = await runCli(['eval', empty, '--model', model]);
    expect(run.code).toBe(4);
    expect(run.stderr.trim()).toBe(`densessm: error: eval file '${empty}' is empty; give it some text`);
  });

  it.each([
    [
      'an unknown model_type',
      ['tokenizer.json'],
      { model_type: 'gpt5' },
      /model_type "gpt5" is not supported; supported: .*dense_retnet/,
    ],
    [
      'no weights',
      ['config.json', 'tokenizer.json'],
      undefined,
      /no model\.safetensors or model\.safetensors\.index\.json/,
    ],
    [
      'no tokenizer',
      ['config.json', 'model.safetensors'],
      undefined,
      /the model folder has no tokenizer: looked for tokenizer\.json/,
    ],
  ])('a model folder with %s: exit 3, one line', async (_what, files, config, message) => {
    const bad = mkdtempSync(join(work, 'bad-'));
    for (const f of files) copyFileSync(join(model, f), join(bad, f));
    if (config) writeFileSync(join(bad, 'config.json'), JSON.stringify(config));
    const run = await runCli(['generate', '--model', bad, 'hi']);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).not.toMatch(STACK_LINE);
  });

  it('a draft folder that is not a model: exit 3', async () => {
    const run = await runCli(['generate', '--model', model, '--draft', work, 'hi']);
    expect(run.code).toBe(3);
    expect(run.stderr.trim()).toMatch(/^densessm: error: '.*' \(from --draft\) is not a model folder/);
  });
});
