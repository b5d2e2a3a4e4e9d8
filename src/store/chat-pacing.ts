/**
 * The arguments of Store.reserveChatSlot both backends refuse: a pace needs a positive interval
 * (whole milliseconds) and a burst of at least one message.
 */
export function checkPacing(intervalMs: number, burst: number): void {
  if (!Number.isInteger(intervalMs) || intervalMs <= 0) throw new RangeError(`chat pacing: the interval must be a positive whole number of milliseconds, got ${intervalMs}`);
  if (!Number.isInteger(burst) || burst < 1) throw new RangeError(`chat pacing: the burst must be a whole number of at least 1, got ${burst}`);
}
