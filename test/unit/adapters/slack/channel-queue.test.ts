import { ChannelQueue } from '../../../../adapters/slack/channel-queue.js';
import { pino } from 'pino';
import { silentLogger } from '../../../../src/core/logger.js';
import { SqliteStore } from '../../../../src/store/sqlite/sqlite-store.js';

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

/** A promise the test opens by hand: holds an op "in flight" for as long as the test needs. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** Lets every pending callback run (a queue worker moves on in microtasks and setImmediate). */
const settle = async () => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
};

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

  test('a reply goes before the notices and edits queued before it (not before the one already running)', async () => {
    const { log, queue } = recorder();
    const held = gate();
    const all = [
      queue.enqueue('C1', { key: 'deployment:1', run: async () => (await held.opened, void log.push('post #1')) }),
      queue.enqueue('C1', { key: 'deployment:1', run: async () => void log.push('edit #1 started') }),
      queue.enqueue('C1', { run: async () => void log.push('output of #1') }),
      queue.enqueue('C1', { priority: 'reply', run: async () => void log.push('reply: #1 queued') }),
    ];
    await settle();
    held.open();
    await Promise.all(all);
    expect(log).toEqual(['post #1', 'reply: #1 queued', 'edit #1 started', 'output of #1']);
  });

  test('order holds within a priority, and a merged edit keeps the place of the first', async () => {
    const { log, queue } = recorder();
    const held = gate();
    const all = [
      queue.enqueue('C1', { run: async () => (await held.opened, void log.push('running')) }),
      queue.enqueue('C1', { key: 'deployment:1', run: async () => void log.push('#1 v1') }),
      queue.enqueue('C1', { run: async () => void log.push('notice') }),
      queue.enqueue('C1', { priority: 'reply', run: async () => void log.push('reply 1') }),
      queue.enqueue('C1', { key: 'deployment:1', run: async () => void log.push('#1 v2') }),
      queue.enqueue('C1', { priority: 'reply', run: async () => void log.push('reply 2') }),
    ];
    await settle();
    held.open();
    await Promise.all(all);
    expect(log).toEqual(['running', 'reply 1', 'reply 2', '#1 v2', 'notice']);
  });

  test('an emoji in flight, or waiting out a 429, never delays a reply', async () => {
    const { log, queue } = recorder();
    const held = gate();
    const eyes = queue.enqueue('C1', { priority: 'reaction', run: async () => (await held.opened, void log.push(':eyes:')) });
    const rocket = queue.enqueue('C1', { priority: 'reaction', run: async () => void log.push(':rocket:') });
    const sent = [queue.enqueue('C1', { priority: 'reply', run: async () => void log.push('reply') }), queue.enqueue('C1', { run: async () => void log.push('notice') })];
    await settle();
    expect(log).toEqual(['reply', 'notice']);
    await Promise.all(sent);
    held.open();
    await Promise.all([eyes, rocket]);
    expect(log).toEqual(['reply', 'notice', ':eyes:', ':rocket:']);

    // A rate-limited emoji sleeps for its Retry-After (here: until the test ends it); replies go on.
    const waits: Array<{ ms: number; wake: () => void }> = [];
    const slow = new ChannelQueue({ logger: silentLogger, intervalMs: 5, sleep: (ms) => new Promise<void>((wake) => waits.push({ ms, wake })) });
    let tries = 0;
    const limited = slow.enqueue('C1', {
      priority: 'reaction',
      run: async () => {
        tries += 1;
        if (tries === 1) throw rateLimited(30);
        log.push(':white_check_mark:');
      },
    });
    const limitedDone = limited.then(() => log.push('emoji done'));
    await settle();
    expect(waits.map((w) => w.ms)).toEqual([30_000]);
    const reply = slow.enqueue('C1', { priority: 'reply', run: async () => void log.push('reply while the emoji waits') });
    await settle();
    expect(log.slice(-1)).toEqual(['reply while the emoji waits']);
    await reply;
    waits.shift()?.wake();
    await limitedDone;
    expect(log.slice(-3)).toEqual(['reply while the emoji waits', ':white_check_mark:', 'emoji done']);
  });

  test('emoji keep their order and are paced in their own lane; drain waits for both lanes', async () => {
    const { log, sleeps, queue } = recorder();
    for (const name of ['eyes', 'rocket', 'white_check_mark']) void queue.enqueue('C1', { priority: 'reaction', run: async () => void log.push(name) });
    void queue.enqueue('C1', { priority: 'reply', run: async () => void log.push('reply') });
    await queue.drain();
    expect(log.filter((l) => l !== 'reply')).toEqual(['eyes', 'rocket', 'white_check_mark']);
    expect(log).toContain('reply');
    // Two pauses between three emoji; the lone reply needed none.
    expect(sleeps).toEqual([5, 5]);
  });
});

describe('ChannelQueue paced through the store (several processes, one channel)', () => {
  /** Lines a pino logger wrote, parsed. */
  function capturedLogger() {
    const lines: Array<{ level: number; msg: string }> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    return { logger, lines };
  }

  test('two queues on one store never send into a channel closer than the interval, and each keeps its order', async () => {
    const store = new SqliteStore(':memory:');
    await store.migrate();
    const sent: Array<{ who: string; n: number; at: number }> = [];
    const queues = ['a', 'b'].map(
      (who) => [who, new ChannelQueue({ logger: silentLogger, intervalMs: 30, reserveSlot: (channel, now, interval) => store.reserveChatSlot('slack', channel, now, interval) })] as const,
    );
    await Promise.all(
      queues.flatMap(([who, queue]) => Array.from({ length: 6 }, (_, n) => queue.enqueue('C1', { run: async () => void sent.push({ who, n, at: Date.now() }) }))),
    );
    expect(sent).toHaveLength(12);
    for (const who of ['a', 'b']) expect(sent.filter((s) => s.who === who).map((s) => s.n)).toEqual([0, 1, 2, 3, 4, 5]);
    const gaps = sent.slice(1).map((s, i) => s.at - sent[i]!.at);
    // An op woken more than a quarter interval late takes a later slot (a timer may also fire a
    // millisecond early); without the store the two queues would send at once.
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(30 - 30 / 4 - 1);
    await store.close();
  });

  test('with a burst of 3: a quiet channel takes three at once, then one per interval; replies still first; the store away, strict', async () => {
    const store = new SqliteStore(':memory:');
    await store.migrate();
    const t0 = Date.parse('2025-01-01T12:00:00.000Z');
    let clock = t0;
    const sleeps: number[] = [];
    let storeUp = true;
    const reserved: number[] = [];
    const queue = new ChannelQueue({
      logger: silentLogger,
      intervalMs: 1000,
      burst: 3,
      // One lane, so one op waits at a time: a virtual clock that a sleep moves on is exact.
      now: () => clock,
      sleep: async (ms) => {
        sleeps.push(ms);
        clock += ms;
      },
      reserveSlot: async (channel, now, interval, burst) => {
        reserved.push(burst);
        if (!storeUp) throw new Error('store away');
        return store.reserveChatSlot('slack', channel, now, interval, burst);
      },
    });
    const sent: Array<{ what: string; at: number }> = [];
    const send = (what: string) => async () => void sent.push({ what, at: clock - t0 });
    const held = gate();
    const all = [queue.enqueue('C1', { run: async () => (await held.opened, await send('n0')()) })];
    for (const n of [1, 2, 3, 4, 5]) all.push(queue.enqueue('C1', { run: send(`n${n}`) }));
    all.push(queue.enqueue('C1', { priority: 'reply', run: send('reply') }));
    await settle();
    held.open();
    await Promise.all(all);
    expect(sent.map((s) => s.what)).toEqual(['n0', 'reply', 'n1', 'n2', 'n3', 'n4', 'n5']);
    expect(sent.map((s) => s.at)).toEqual([0, 0, 0, 1000, 2000, 3000, 4000]);
    expect(sleeps).toEqual([1000, 1000, 1000, 1000]);
    expect(new Set(reserved)).toEqual(new Set([3]));

    // Quiet for long enough (its backlog plus three intervals): the burst is back.
    clock += 3000 + 3000;
    sent.length = 0;
    sleeps.length = 0;
    await Promise.all(['a', 'b', 'c', 'd'].map((w) => queue.enqueue('C1', { run: send(w) })));
    expect(sent.map((s) => s.at - 10_000)).toEqual([0, 0, 0, 1000]);
    expect(sleeps).toEqual([1000]);

    // The store away: each process paces itself, strictly (no burst): a pause between every two ops.
    storeUp = false;
    sleeps.length = 0;
    await Promise.all(['e', 'f', 'g'].map((w) => queue.enqueue('C1', { run: send(w) })));
    expect(sleeps).toEqual([1000, 1000]);
    await store.close();
  });

  test('refuses a burst below 1', () => {
    expect(() => new ChannelQueue({ logger: silentLogger, burst: 0 })).toThrow(RangeError);
  });

  test('each send waits for its slot (a retry after a 429 too); a reply still goes before what waits behind', async () => {
    const reservations: string[] = [];
    const waits: Array<{ ms: number; wake: () => void }> = [];
    let clock = 0;
    const queue = new ChannelQueue({
      logger: silentLogger,
      intervalMs: 1000,
      now: () => clock,
      sleep: (ms) => new Promise<void>((wake) => waits.push({ ms, wake })),
      // Another process has the next two seconds.
      reserveSlot: async (channel, now) => (reservations.push(channel), new Date(Date.parse(now) + 2000).toISOString()),
    });
    const log: string[] = [];
    let tries = 0;
    const notice = queue.enqueue('C1', {
      run: async () => {
        tries += 1;
        if (tries === 1) throw rateLimited(1);
        log.push('notice');
      },
    });
    await settle();
    expect(waits.map((w) => w.ms)).toEqual([2000]);
    // The notice waiting for its slot is on its way; the reply passes only what waits behind it.
    const later = queue.enqueue('C1', { run: async () => void log.push('later notice') });
    const reply = queue.enqueue('C1', { priority: 'reply', run: async () => void log.push('reply') });
    const wakeAll = async () => {
      while (waits.length > 0 || log.length < 3) {
        clock += waits[0]?.ms ?? 0;
        waits.shift()?.wake();
        await settle();
      }
    };
    await Promise.all([notice, later, reply, wakeAll()]);
    expect(log).toEqual(['notice', 'reply', 'later notice']);
    // notice (429), notice again, reply, later notice: a slot for each of the four sends.
    expect(reservations).toEqual(['C1', 'C1', 'C1', 'C1']);
  });

  test('when the store fails or does not answer, nothing is lost: the lane paces itself and says so once', async () => {
    const { logger, lines } = capturedLogger();
    let mode: 'fail' | 'hang' | 'ok' = 'fail';
    const sleeps: number[] = [];
    const queue = new ChannelQueue({
      logger,
      intervalMs: 5,
      reserveTimeoutMs: 50,
      sleep: async (ms) => void sleeps.push(ms),
      reserveSlot: async (_channel, now) => {
        if (mode === 'fail') throw new Error('SQLITE_BUSY: database is locked');
        if (mode === 'hang') return new Promise<string>(() => {});
        return now;
      },
    });
    const log: string[] = [];
    await Promise.all(['a', 'b', 'c'].map((n) => queue.enqueue('C1', { run: async () => void log.push(n) })));
    mode = 'hang';
    await Promise.all(['d', 'e'].map((n) => queue.enqueue('C1', { run: async () => void log.push(n) })));
    expect(log).toEqual(['a', 'b', 'c', 'd', 'e']);
    // Paced locally: a pause between the ops of each burst.
    expect(sleeps).toEqual([5, 5, 5]);
    const warnings = () => lines.filter((l) => l.level === 40).map((l) => l.msg);
    expect(warnings()).toEqual(['could not reserve a chat slot in the store; pacing this process on its own until it answers']);
    mode = 'ok';
    await queue.enqueue('C1', { run: async () => void log.push('f') });
    expect(log.at(-1)).toBe('f');
    expect(warnings().at(-1)).toBe('chat slots come from the store again');
  });
});
