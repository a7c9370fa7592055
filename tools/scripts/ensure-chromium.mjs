// The browser end-to-end test drives Debian's Chromium. Installs it with apt-get when it is missing and we
// may (root with apt-get); otherwise says exactly what to install. Playwright's own browser download does not
// work offline, so it is never used.
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (existsSync(path)) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = existsSync('/usr/bin/apt-get');
if (!isRoot || !hasApt) {
  console.error(`Chromium is needed for the browser test and is not at ${path}.`);
  console.error(
    'Install it (Debian/Ubuntu: sudo apt-get install -y chromium) or set CHROMIUM_PATH to a Chromium binary.',
  );
  process.exit(1);
}
console.log('Installing Debian chromium for the browser test (apt-get install -y chromium)...');
execSync('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium', {
  stdio: 'inherit',
});
if (!existsSync(path)) {
  console.error(`apt-get finished but ${path} is still missing; set CHROMIUM_PATH.`);
  process.exit(1);
}
