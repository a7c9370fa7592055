#!/usr/bin/env node
import { parseConfig, usage } from './config.js';
import { ConfigError } from './errors.js';
import { shippedDefaultModel } from './model-location.js';
import { startServer } from './server.js';

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parseConfig>;
  try {
    parsed = parseConfig(process.argv.slice(2), process.env, shippedDefaultModel());
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`densessm-server: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  if (parsed.help) {
    process.stdout.write(`${usage()}\n`);
    return;
  }
  const server = await startServer(parsed.config);
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      process.stderr.write(`densessm-server: second ${signal}, exiting now\n`);
      process.exit(130);
    }
    void server.close().then(() => process.exit(0));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  server.ready.catch(async () => {
    // A server without its model cannot serve anything: exit non-zero so a supervisor restarts or alerts
    // (the log line 'model failed to load' says why).
    await server.close(0);
    process.exit(1);
  });
}

void main();
