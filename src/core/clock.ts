/** Time is injected so tests and schedules never patch globals. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
