import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * The inference worker runs as a separate file, which worker_threads can only load as JavaScript: build the
 * package's JS (not its declarations) from the current sources before any test starts a server.
 */
export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  execFileSync('pnpm', ['exec', 'tsup', '--silent'], {
    cwd: root,
    env: { ...process.env, DENSESSM_SKIP_DTS: '1' },
    stdio: 'inherit',
  });
}
