import type { App, ReceiverEvent } from '@slack/bolt';
import { ackAfterListeners } from '../../../../adapters/slack/slack-adapter.js';

/** An App whose processEvent acks as Bolt does for events (first), then runs `listener`. */
function fakeApp(listener: () => Promise<void>, order: string[]): Pick<App, 'processEvent'> {
  return {
    processEvent: async (event: ReceiverEvent) => {
      await event.ack({ text: 'stored' });
      order.push('ack() called');
      await listener();
      order.push('listener resolved');
    },
  };
}

function receiverEvent(order: string[]): ReceiverEvent & { acked: unknown[] } {
  const acked: unknown[] = [];
  return {
    body: { type: 'event_callback' },
    acked,
    ack: async (response?: unknown) => {
      acked.push(response);
      order.push('sent');
    },
  };
}

describe('ackAfterListeners (Socket Mode: ack only once the listeners are done)', () => {
  test('holds the ack until the listeners resolve, then sends it once with its response', async () => {
    const order: string[] = [];
    const event = receiverEvent(order);
    await ackAfterListeners(fakeApp(async () => void order.push('recorded'), order)).processEvent(event);
    expect(order).toEqual(['ack() called', 'recorded', 'listener resolved', 'sent']);
    expect(event.acked).toEqual([{ text: 'stored' }]);
  });

  test('a listener that throws (the store is away): no ack at all, the error goes to the receiver', async () => {
    const order: string[] = [];
    const event = receiverEvent(order);
    const failure = new Error('store unavailable');
    await expect(ackAfterListeners(fakeApp(() => Promise.reject(failure), order)).processEvent(event)).rejects.toBe(failure);
    expect(event.acked).toEqual([]);
  });

  test('nothing acked when no one called ack()', async () => {
    const event = receiverEvent([]);
    await ackAfterListeners({ processEvent: async () => undefined }).processEvent(event);
    expect(event.acked).toEqual([]);
  });
});
