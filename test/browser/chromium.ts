import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's chromium package (.ci/run installs it); playwright-core drives it, downloading nothing. */
export const chromiumPath = process.env.DECKHAND_TEST_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Whether the browser tests can run. Locally, without Chromium they are skipped with a printed
 * note; in CI (CI=true) a missing Chromium fails the file: CI must run them, not skip them.
 */
export function chromiumAvailable(): boolean {
  if (existsSync(chromiumPath)) return true;
  const why = `Chromium is not installed at ${chromiumPath} (DECKHAND_TEST_CHROMIUM)`;
  if (process.env.CI === 'true') throw new Error(`${why}. CI runs the browser tests; .ci/run installs Debian's chromium package.`);
  console.warn(`${why}. Skipping the browser tests of this file; install it (apt-get install chromium) to run them.`);
  return false;
}

export async function launchChromium(): Promise<Browser> {
  // Chromium's sandbox refuses to start as root (containers, CI); it is not what these tests check.
  const asRoot = process.getuid?.() === 0;
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: [...(asRoot ? ['--no-sandbox'] : []), '--disable-dev-shm-usage'] });
}
