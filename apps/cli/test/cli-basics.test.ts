import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, STACK_LINE } from './run-cli.js';

const COMMANDS = ['generate', 'chat', 'bench', 'eval', 'inspect', 'models'];

describe('densessm (no model needed)', () => {
  it('prints its version', async () => {
    const run = await runCli(['--version']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it.each(COMMANDS)('has --help with examples for %s', async (command) => {
    const run = await runCli([command, '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Usage: densessm ${command}`);
    expect(run.stdout).toMatch(/Examples:\n {2}densessm /);
  });

  it('documents the exit codes in the top-level help', async () => {
    const run = await runCli(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Exit codes:[\s\S]*130 +interrupted/);
  });

  it('models --json lists the shipped folders, default first', async () => {
    const run = await runCli(['models', '--json']);
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as {
      modelsDir: string | null;
      models: { name: string; isDefault: boolean }[];
    };
    expect(out.modelsDir).toMatch(/models$/);
    expect(out.models.filter((m) => m.isDefault).length).toBe(out.models.length > 0 ? 1 : 0);
    if (out.models.length > 0) expect(out.models[0].isDefault).toBe(true);
  });

  it('rejects an unknown command with exit 2 and one line', async () => {
    const run = await runCli(['generat']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^densessm: error: unknown command 'generat'/);
    expect(run.stderr).toContain('generate');
  });

  it.each([
    [['generate', '--max-tokens', '-5', 'hi'], /--max-tokens <n>' argument '-5' is invalid/],
    [['generate', '--max-tokens', '2.5', 'hi'], /argument '2.5' is invalid/],
    [['generate', '--temperature', 'hot', 'hi'], /--temperature <t>' argument 'hot' is invalid/],
    [['generate', '--backend', 'gpu', 'hi'], /argument 'gpu' is invalid. Allowed choices are node, web/],
    [['eval'], /missing required argument 'file'/],
  ])('rejects bad options %j with exit 2, one line, no stack', async (args, message) => {
    const run = await runCli(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).not.toMatch(STACK_LINE);
  });

  it('rejects an unknown drafter with exit 2', async () => {
    const run = await runCli(['generate', '--draft', 'telepathy', 'hi']);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toMatch(
      /^densessm: error: unknown drafter 'telepathy': use one of lookup, recycling/,
    );
    expect(run.stderr).not.toMatch(STACK_LINE);
  });

  it('names a missing model folder with exit 3', async () => {
    const run = await runCli(['generate', '--model', '/nonexistent/model', 'hi']);
    expect(run.code).toBe(3);
    expect(run.stderr.trim()).toBe(
      "densessm: error: model folder '/nonexistent/model' (from --model) does not exist; run 'densessm models' to see what ships",
    );
  });

  it('rejects a folder without config.json with exit 3 (also from $DENSESSM_MODEL)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'densessm-not-a-model-'));
    writeFileSync(join(dir, 'notes.txt'), 'hello');
    for (const [args, env] of [
      [['generate', '--model', dir, 'hi'], {}],
      [['inspect'], { DENSESSM_MODEL: dir }],
    ] as const) {
      const run = await runCli(args, { env });
      expect(run.code).toBe(3);
      expect(run.stderr).toMatch(/is not a model folder: it has no config\.json/);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
