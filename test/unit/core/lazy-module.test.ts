import { createRequire } from 'node:module';
import { isDeckhandError } from '../../../src/core/errors.js';
import { lazyImport, lazyRequire } from '../../../src/core/lazy-module.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from '../../../src/metrics/prom-parts.js';

describe('lazyImport: a module loaded at its first use', () => {
  it('loads once for concurrent first uses: every caller gets the one promise and the same module', async () => {
    let loads = 0;
    let finish: (value: { answer: number }) => void = () => undefined;
    const load = lazyImport('example', () => {
      loads++;
      return new Promise<{ answer: number }>((resolve) => (finish = resolve));
    });
    const first = load();
    const second = load();
    expect(second).toBe(first);
    finish({ answer: 42 });
    const [a, b] = await Promise.all([first, second]);
    expect(a).toBe(b);
    expect(await load()).toBe(a);
    expect(loads).toBe(1);
  });

  it('fails a use whose module cannot be loaded with a DeckhandError naming the package and the fix, and tries again at the next use', async () => {
    let attempts = 0;
    const load = lazyImport('deckhand-no-such-package', () => {
      attempts++;
      // A real failed import: the package does not exist.
      return import(['deckhand', 'no-such-package'].join('-'));
    });
    const [one, two] = await Promise.allSettled([load(), load()]);
    expect(attempts).toBe(1);
    for (const outcome of [one, two]) {
      expect(outcome.status).toBe('rejected');
      const reason = (outcome as PromiseRejectedResult).reason as Error;
      expect(isDeckhandError(reason)).toBe(true);
      expect(reason.message).toMatch(/^could not load deckhand-no-such-package \(.*deckhand-no-such-package.*\); reinstall Deckhand's dependencies \(npm ci\)$/);
    }
    await expect(load()).rejects.toThrow(/could not load deckhand-no-such-package/);
    expect(attempts).toBe(2);
  });
});

describe('lazyRequire: a CommonJS module required at its first (synchronous) use', () => {
  it('requires once and hands back the same module', () => {
    const path = lazyRequire<typeof import('node:path')>('node:path');
    expect(path()).toBe(path());
    expect(path().join('a', 'b')).toBe('a/b');
  });

  it('throws a DeckhandError naming the package when it is missing', () => {
    const missing = lazyRequire('deckhand-no-such-package');
    expect(() => missing()).toThrow(/^could not load deckhand-no-such-package \(Cannot find module 'deckhand-no-such-package'.*\); reinstall/);
    try {
      missing();
    } catch (err) {
      expect(isDeckhandError(err)).toBe(true);
    }
  });
});

describe('prom-parts: prom-client file by file', () => {
  it('are the very classes and function prom-client exports (a prom-client update that moves a file fails here)', () => {
    const prom = createRequire(import.meta.url)('prom-client') as typeof import('prom-client');
    expect(Registry).toBe(prom.Registry);
    expect(Counter).toBe(prom.Counter);
    expect(Gauge).toBe(prom.Gauge);
    expect(Histogram).toBe(prom.Histogram);
    expect(collectDefaultMetrics()).toBe(prom.collectDefaultMetrics);
  });
});
