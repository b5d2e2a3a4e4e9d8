import { githubSignature } from '../../src/http/github-webhook-route.js';
import { startInProcess, until, type InProcess } from '../fixtures/in-process.js';
import { webhookExample } from '../fakes/github/webhook-examples.js';

const example = webhookExample;

const secret = 'github-webhook-secret-123';

describe('POST /webhooks/github', () => {
  let h: InProcess;
  beforeAll(async () => {
    h = await startInProcess({ github: { webhookSecret: secret, apiUrl: 'http://127.0.0.1:9' } });
  });
  afterAll(async () => h.close());

  let n = 0;
  const send = (event: string, body: string, headers: Record<string, string> = {}, contentType = 'application/json') =>
    fetch(`${h.base}/webhooks/github`, {
      method: 'POST',
      headers: { 'content-type': contentType, 'x-github-event': event, 'x-github-delivery': `delivery-${++n}`, 'x-hub-signature-256': githubSignature(secret, body), ...headers },
      body,
    });

  test('ping is answered 200 (signed)', async () => {
    const response = await send('ping', JSON.stringify(example('ping')));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'pong' });
  });

  test('bad or missing signatures are 401, malformed JSON 400, other content types 415', async () => {
    const body = JSON.stringify(example('pull_request', 'closed'));
    expect((await send('pull_request', body, { 'x-hub-signature-256': githubSignature('wrong-secret', body) })).status).toBe(401);
    const unsigned = await fetch(`${h.base}/webhooks/github`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': 'x' }, body });
    expect(unsigned.status).toBe(401);
    expect((await send('pull_request', '{"action": ')).status).toBe(400);
    expect((await send('pull_request', 'hello', {}, 'text/plain')).status).toBe(415);
    expect((await send('pull_request', body, { 'x-github-delivery': '' })).status).toBe(400);
    expect(await h.store.listJobs({ type: 'github' })).toEqual([]);
  });

  test('JSON and form (payload=) bodies are accepted with 202 after storing; a redelivery is 200 and runs once', async () => {
    const json = JSON.stringify(example('push'));
    const first = await send('push', json, { 'x-github-delivery': 'same-delivery' });
    expect(first.status).toBe(202);
    const again = await send('push', json, { 'x-github-delivery': 'same-delivery' });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ status: 'duplicate', delivery: 'same-delivery' });
    const form = `payload=${encodeURIComponent(JSON.stringify(example('issues')))}`;
    expect((await send('issues', form, {}, 'application/x-www-form-urlencoded')).status).toBe(202);
    // Events Deckhand does not act on are accepted, logged and finished.
    await until(async () => (await h.store.listJobs({ type: 'github' })).every((j) => j.state === 'done') && (await h.store.listJobs({ type: 'github' })).length === 2, 'the jobs to finish');
    const deliveries = await Promise.all((await h.store.listJobs({ type: 'github' })).map((j) => h.store.getDelivery((j.payload as { deliveryId: number }).deliveryId)));
    expect(deliveries.map((d) => d?.headers['x-github-event']).sort()).toEqual(['issues', 'push']);
    expect((deliveries.find((d) => d?.headers['x-github-event'] === 'issues')?.body as { action?: string }).action).toBeDefined();
  });
});
