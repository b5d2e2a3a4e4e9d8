/**
 * The bench's end-to-end section (bench/lib/e2e.ts), structure only: nothing here is timed. Its
 * reaction loads and posts where the payload says, its channel ids are ids Slack would give (so
 * Deckhand takes the exactly-once path it takes on Slack), and arrivals are paired with what was
 * sent the way the table counts them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Arrival } from '../../../bench/e2e-slack.js';
import { channelGaps, channelIds, e2eTrigger, losses, matchArrivals, medianBySecond, percentile, writeE2eReaction, type Sent } from '../../../bench/lib/e2e.js';
import { dryRun } from '../../../src/cli/trigger.js';
import { loadReactions } from '../../../src/reactions/load-reactions.js';

const seqOf = (a: Arrival) => Number(/^e2e (\d+)$/.exec(a.text)?.[1] ?? NaN);

describe('bench e2e', () => {
  it('writes a reaction that loads and posts "e2e <seq>" to the channel the payload names', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-e2e-'));
    try {
      writeE2eReaction(dir);
      const loaded = loadReactions(dir, { BENCH_TRIGGER_KEY: 'bench-trigger-api-key-0123456789' });
      expect(loaded.disabled).toEqual([]);
      expect(loaded.reactions).toHaveLength(1);
      const reaction = loaded.reactions[0]!;
      expect(reaction.on).toMatchObject({ webhook: e2eTrigger });
      const context = { event: { id: 'x', type: 'webhook', at: new Date(0).toISOString(), source: 'manual' }, trigger: e2eTrigger, payload: { seq: 7, channel: 'CE2EA001' }, query: {}, headers: {} };
      const run = dryRun(reaction, context, dir, []);
      expect(run.fires).toBe(true);
      expect(JSON.stringify(run.actions)).toContain('"channel":"CE2EA001"');
      expect(JSON.stringify(run.actions)).toContain('"text":"e2e 7"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names channels the way Slack writes channel ids, distinct per set', () => {
    const a = channelIds('A', 200);
    expect(new Set([...a, ...channelIds('B', 400)]).size).toBe(600);
    for (const id of a) expect(id).toMatch(/^C[A-Z0-9]{2,}$/);
  });

  it('pairs arrivals with events: warm-up and requests still in flight left out, lost, duplicate and stray counted', () => {
    const sent = new Map<number, Sent>([
      [1, { sentAt: 1000, channel: 'C1', status: 202 }], // warm-up
      [2, { sentAt: 2000, channel: 'C2', status: 202 }],
      [3, { sentAt: 3000, channel: 'C3', status: 202 }], // accepted, never arrives: lost
      [4, { sentAt: 4000, channel: 'C4', status: 500 }],
      [5, { sentAt: 5000, channel: 'C5' }], // no answer when the load stopped
      [6, { sentAt: 6000, channel: 'C6', status: 202 }],
      [7, { sentAt: 7000, channel: 'C7', status: 0 }],
    ]);
    const arrivals: Arrival[] = [
      { at: 1004, channel: 'C1', text: 'e2e 1' },
      { at: 2010, channel: 'C9', text: 'e2e 2' }, // the wrong channel
      { at: 2012, channel: 'C2', text: 'e2e 2' },
      { at: 5003, channel: 'C5', text: 'e2e 5' },
      { at: 6020, channel: 'C6', text: 'e2e 6' },
      { at: 6030, channel: 'C6', text: 'e2e 6' },
      { at: 6040, channel: 'C6', text: 'hello' },
    ];
    const outcome = matchArrivals(sent, arrivals, seqOf, 2);
    expect(outcome).toMatchObject({ sent: 5, ok: 3, failed: { 500: 1, 'no answer': 1 }, latencies: [12, 20], lost: 1, duplicates: 1, stray: 2, lastAt: 6020 });
    expect(losses(outcome)).toBe('1 × 500, 1 × no answer, 1 lost, 1 duplicates, 2 stray');
    expect(losses(matchArrivals(new Map([[1, { sentAt: 0, channel: 'C1', status: 202 }]]), [{ at: 3, channel: 'C1', text: 'e2e 1' }], seqOf))).toBe('0 lost');
  });

  it('summarises: percentiles, gaps per channel, median per second sent', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 99)).toBe(4);
    expect(percentile([], 50)).toBeNaN();
    const arrivals: Arrival[] = [
      { at: 0, channel: 'C1', text: 'e2e 1' },
      { at: 10, channel: 'C2', text: 'e2e 2' },
      { at: 1000, channel: 'C1', text: 'e2e 3' },
      { at: 1500, channel: 'C2', text: 'e2e 4' },
    ];
    expect(channelGaps(arrivals)).toEqual([1000, 1490]);
    const sent = new Map<number, Sent>([
      [1, { sentAt: -5, channel: 'C1', status: 202 }],
      [2, { sentAt: 5, channel: 'C2', status: 202 }],
      [3, { sentAt: 990, channel: 'C1', status: 202 }],
      [4, { sentAt: 1100, channel: 'C2', status: 202 }],
    ]);
    expect(medianBySecond(sent, arrivals, seqOf, 1)).toEqual([5, 400]);
    expect(medianBySecond(sent, arrivals, seqOf, 3)).toEqual([10]);
  });
});
