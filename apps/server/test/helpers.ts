import { DEFAULT_CONFIG, type ServerConfig } from '../src/config.js';
import type { FakeCoreOptions } from '../src/core.js';
import { createLogger, type Logger } from '../src/logger.js';
import { type RunningServer, type StartOptions, startServer } from '../src/server.js';

export const FAKE_MODEL = 'densessm-fake';

export interface TestServer extends RunningServer {
  /** Every structured log line the server wrote. */
  logs: Record<string, unknown>[];
}

/** A live server on 127.0.0.1 (free port) over the fake core in a worker thread, unless an engine is given. */
export async function startTestServer(
  overrides: Partial<ServerConfig> = {},
  options: { fakeCore?: FakeCoreOptions; engine?: StartOptions['engine']; waitReady?: boolean } = {},
): Promise<TestServer> {
  const logs: Record<string, unknown>[] = [];
  const logger: Logger = createLogger('debug', (line) => {
    logs.push(JSON.parse(line) as Record<string, unknown>);
  });
  const config: ServerConfig = {
    ...DEFAULT_CONFIG,
    engine: 'fake',
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    ...overrides,
  };
  const server = await startServer(config, {
    logger,
    ...(options.fakeCore ? { fakeCore: options.fakeCore } : {}),
    ...(options.engine ? { engine: options.engine } : {}),
  });
  if (options.waitReady !== false) await server.ready;
  return Object.assign(server, { logs });
}

export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Reads one Prometheus sample (first series of the metric whose labels include `labelFilter`). */
export async function metricValue(baseUrl: string, name: string, labelFilter = ''): Promise<number | null> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([^\s{]+)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (match && match[1] === name && (match[2] ?? '').includes(labelFilter)) return Number(match[3]);
  }
  return null;
}

export async function waitFor(predicate: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}
