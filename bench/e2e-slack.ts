/**
 * The fake Slack of the tests (test/fakes/slack) for the bench's end-to-end section (lib/e2e.ts),
 * in a process of its own. It registers the channels the loads name (the bot a member, so
 * chat.postMessage succeeds as on Slack) and notes every chat.postMessage with the moment it
 * arrived — `performance.timeOrigin + performance.now()`, wall-clock milliseconds with a fraction,
 * comparable with the send times the bench process takes the same way — its channel and its text.
 * The bench talks to it over the IPC channel of child_process.fork:
 *
 *   → { id, op: 'channels', ids: string[] }   registers channels        ← { id }
 *   → { id, op: 'count' }                      arrivals noted so far     ← { id, count }
 *   → { id, op: 'take' }                       hands them over, forgets  ← { id, arrivals }
 *
 * It first sends { ready: true, apiUrl, botToken, botUserId }, and exits when the bench goes away.
 */
import { FakeSlack, type RecordedCall } from '../test/fakes/slack/fake-slack.js';

export interface Arrival {
  /** Wall-clock ms (with a fraction) when the call had arrived, its body read. */
  at: number;
  channel: string;
  text: string;
}

export type E2eSlackRequest = { id: number; op: 'channels'; ids: string[] } | { id: number; op: 'count' } | { id: number; op: 'take' };

const fake = await FakeSlack.start();
let arrivals: Arrival[] = [];
const now = () => performance.timeOrigin + performance.now();

// The fake records each call, body read, in `calls` before it answers: that moment is the arrival.
const record = fake.calls.push.bind(fake.calls);
fake.calls.push = (...calls: RecordedCall[]): number => {
  const at = now();
  for (const call of calls) {
    if (call.method === 'chat.postMessage') arrivals.push({ at, channel: String(call.body.channel ?? ''), text: String(call.body.text ?? '') });
  }
  return record(...calls);
};

const send = (message: unknown) => process.send?.(message);
process.on('message', (raw) => {
  const message = raw as E2eSlackRequest;
  if (message.op === 'channels') {
    for (const id of message.ids) fake.addChannel(id, { name: id.toLowerCase() });
    send({ id: message.id });
  } else if (message.op === 'count') {
    send({ id: message.id, count: arrivals.length });
  } else if (message.op === 'take') {
    send({ id: message.id, arrivals });
    arrivals = [];
    // The recorded calls are not read here: dropped, so a long run does not keep them all.
    fake.calls.length = 0;
  }
});
process.once('disconnect', () => process.exit(0));
process.once('SIGTERM', () => process.exit(0));
send({ ready: true, apiUrl: fake.apiUrl, botToken: fake.workspace.botToken, botUserId: fake.workspace.botUserId });
