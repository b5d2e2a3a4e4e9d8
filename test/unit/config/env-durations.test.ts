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

describe('DECKHAND_RETENTION', () => {
  const day = 86_400_000;

  test('defaults: deliveries and jobs 14 days, seen keys 30, events and audit a year, logs 90, posts 30', () => {
    expect(loadEnv({}).DECKHAND_RETENTION).toEqual({ deliveries: 14 * day, jobs: 14 * day, seen: 30 * day, events: 365 * day, audit: 365 * day, logs: 90 * day, posts: 30 * day });
  });

  test('a spec changes only the kinds it names; off and 0 keep a kind forever', () => {
    const env = loadEnv({ DECKHAND_RETENTION: ' deliveries=7d, jobs=12h,audit=off , events=0,logs=2w' });
    expect(env.DECKHAND_RETENTION).toEqual({ deliveries: 7 * day, jobs: 12 * 3_600_000, seen: 30 * day, events: null, audit: null, logs: 14 * day, posts: 30 * day });
  });

  test('a bad spec names the variable and the bad part', () => {
    expect(() => loadEnv({ DECKHAND_RETENTION: 'deliveries=14d,jobz=3d' })).toThrow('DECKHAND_RETENTION="deliveries=14d,jobz=3d": "jobz=3d": unknown kind "jobz" (one of deliveries, jobs, seen, events, audit, logs, posts)');
    expect(() => loadEnv({ DECKHAND_RETENTION: 'jobs=14' })).toThrow('"jobs=14": the age is a whole number of hours, days or weeks (12h, 14d, 2w), or off');
    expect(() => loadEnv({ DECKHAND_RETENTION: 'jobs=1.5d' })).toThrow('"jobs=1.5d": the age is');
    expect(() => loadEnv({ DECKHAND_RETENTION: '14d' })).toThrow('"14d" is not kind=age (e.g. deliveries=14d)');
    expect(() => loadEnv({ DECKHAND_RETENTION: 'jobs=1d,jobs=2d' })).toThrow('"jobs=2d": jobs is given twice');
  });
});
