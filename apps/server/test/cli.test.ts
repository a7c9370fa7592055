import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

function startCli(
  args: string[],
): Promise<{ child: ChildProcess; url: string; lines: Record<string, unknown>[] }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  return new Promise((resolve, reject) => {
    let pending = '';
    let url = '';
    const timer = setTimeout(() => reject(new Error('server did not become ready')), 20_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const parts = pending.split('\n');
      pending = parts.pop()!;
      for (const part of parts) {
        const line = JSON.parse(part) as Record<string, unknown>;
        lines.push(line);
        if (line.msg === 'listening') url = String(line.url);
        if (line.msg === 'model loaded') {
          clearTimeout(timer);
          resolve({ child, url, lines });
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`exited early with ${code}`)));
  });
}

describe('densessm-server bin', () => {
  it('prints usage for --help and exits 2 with a one-line message on bad config', () => {
    const help = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--max-batch');
    expect(help.stdout).toContain('DENSESSM_API_KEY');
    const bad = spawnSync(process.execPath, [CLI, '--engine', 'fake', '--port', 'eighty'], {
      encoding: 'utf8',
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toContain('--port');
  });

  it('serves on loopback, logs with request ids, and exits 0 on SIGTERM', async () => {
    const { child, url, lines } = await startCli(['--engine', 'fake', '--port', '0']);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const response = await fetch(`${url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'trace-42' },
      body: JSON.stringify({ model: 'densessm-fake', prompt: 'hello', max_tokens: 3 }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('trace-42');
    const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(lines).toContainEqual(
      expect.objectContaining({ msg: 'request', request_id: 'trace-42', status: 200 }),
    );
    expect(lines.at(-1)).toMatchObject({ msg: 'stopped' });
  });

  it('exits 1 when the model cannot be loaded, saying why', async () => {
    const child = spawn(process.execPath, [CLI, '--model', '/nonexistent/model-folder', '--port', '0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    const failure = stderr
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((line) => line.msg === 'model failed to load');
    expect(String(failure?.error)).toContain('/nonexistent/model-folder');
  });
});
