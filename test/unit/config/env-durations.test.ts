import { loadEnv } from '../../../src/config/env.js';

describe('the durations of several processes on one store', () => {
  test('defaults: a 30 s job lease, a 30 s heartbeat, a 5 minute shutdown grace', () => {
    const env = loadEnv({});
    expect([env.DECKHAND_JOB_LEASE, env.DECKHAND_HEARTBEAT, env.DECKHAND_SHUTDOWN_GRACE]).toEqual([30_000, 30_000, 300_000]);
  });

  test('a grace of 0 means none; other durations are read as usual', () => {
    const env = loadEnv({ DECKHAND_SHUTDOWN_GRACE: '0', DECKHAND_HEARTBEAT: '10s', DECKHAND_JOB_LEASE: '2m' });
    expect([env.DECKHAND_JOB_LEASE, env.DECKHAND_HEARTBEAT, env.DECKHAND_SHUTDOWN_GRACE]).toEqual([120_000, 10_000, 0]);
  });

  test('too short or not a duration: the variable, its value and what is accepted', () => {
    expect(() => loadEnv({ DECKHAND_HEARTBEAT: '1s' })).toThrow('DECKHAND_HEARTBEAT="1s": a duration such as 30s or 5m, at least 3s');
    expect(() => loadEnv({ DECKHAND_JOB_LEASE: '0' })).toThrow('DECKHAND_JOB_LEASE="0": a duration such as 30s or 5m, at least 1s');
    expect(() => loadEnv({ DECKHAND_SHUTDOWN_GRACE: 'soon' })).toThrow('DECKHAND_SHUTDOWN_GRACE="soon": a duration such as 30s or 5m');
  });
});
