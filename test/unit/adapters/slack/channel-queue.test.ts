import { ChannelQueue } from '../../../../adapters/slack/channel-queue.js';
import { silentLogger } from '../../../../src/core/logger.js';

const rateLimited = (retryAfter: number) => Object.assign(new Error('rate limited'), { code: 'slack_webapi_rate_limited_error', retryAfter });

function recorder() {
  const log: string[] = [];
  const sleeps: number[] = [];
  const queue = new ChannelQueue({
    logger: silentLogger,
    intervalMs: 5,
    retryDelayMs: 1,
    sleep: async (ms) => {
      sleeps.push(ms);
      await new Promise((r) => setImmediate(r));
    },
  });
  return { log, sleeps, queue };
}

describe('ChannelQueue', () => {
  test('runs ops of one channel in order, one at a time, pausing between them', async () => {
    const { log, sleeps, queue } = recorder();
    let running = 0;
    const op = (name: string) => ({
      run: async () => {
        running += 1;
        expect(running).toBe(1);
        await new Promise((r) => setTimeout(r, 2));
        log.push(name);
        running -= 1;
      },
    });
    await Promise.all(['a', 'b', 'c'].map((n) => queue.enqueue('C1', op(n))));
    expect(log).toEqual(['a', 'b', 'c']);
    expect(sleeps).toEqual([5, 5]);
  });

  test('a burst of edits to one message collapses into the newest, keeping its place', async () => {
    const { log, queue } = recorder();
    const first = queue.enqueue('C1', { run: async () => void log.push('post #0') });
    const edits = [1, 2, 3, 4].map((i) => queue.enqueue('C1', { key: 'deployment:1', run: async () => void log.push(`deployment 1 v${i}`) }));
    const other = queue.enqueue('C1', { key: 'deployment:2', run: async () => void log.push('deployment 2 v1') });
    await Promise.all([first, ...edits, other]);
    expect(log).toEqual(['post #0', 'deployment 1 v4', 'deployment 2 v1']);
  });

  test('a 429 waits for Retry-After and retries the same op; other failures retry then give up', async () => {
    const { log, sleeps, queue } = recorder();
    let calls = 0;
    await queue.enqueue('C1', {
      run: async () => {
        calls += 1;
        if (calls === 1) throw rateLimited(3);
        log.push('sent');
      },
    });
    expect(log).toEqual(['sent']);
    expect(sleeps[0]).toBe(3000);

    await expect(queue.enqueue('C1', { run: async () => Promise.reject(new Error('boom')) })).rejects.toThrow('boom');
    // A failure never blocks what comes after it.
    await queue.enqueue('C1', { run: async () => void log.push('after') });
    expect(log).toEqual(['sent', 'after']);
  });

  test('channels are independent', async () => {
    const { log, queue } = recorder();
    let release!: () => void;
    const blocked = queue.enqueue('C1', { run: () => new Promise<void>((r) => (release = () => (log.push('C1'), r()))) });
    await queue.enqueue('C2', { run: async () => void log.push('C2') });
    release();
    await blocked;
    expect(log).toEqual(['C2', 'C1']);
  });

  test('an op enqueued just as a worker finishes still runs', async () => {
    const { log, queue } = recorder();
    await queue.enqueue('C1', { run: async () => void log.push('one') });
    const next = queue.enqueue('C1', { run: async () => void log.push('two') });
    await next;
    await queue.drain();
    expect(log).toEqual(['one', 'two']);
  });
});
