/**
 * What the load sends. Every request carries a delivery id of its own (GitHub's X-GitHub-Delivery,
 * the trigger's X-Delivery-Id, Slack's event_id and message ts), so nothing is answered as a
 * redelivery; signatures are computed the way each sender does.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { messagePayload } from '../../test/fakes/slack/signed-request.js';
import type { OneRequest } from './load.js';

export const secrets = {
  github: 'bench-github-webhook-secret',
  slackSigning: 'bench-slack-signing-secret',
  triggerKey: 'bench-trigger-api-key-0123456789',
};

export const triggerName = 'bench';

const require = createRequire(import.meta.url);
type Example = Record<string, unknown> & { action?: string; pull_request?: Record<string, unknown>; sender?: unknown };

/**
 * A real merged pull_request delivery: the pull_request.closed example of @octokit/webhooks-examples
 * that is 23.7 KB on the wire, marked merged (merged, merged_at, merged_by) as GitHub sends it when a
 * pull request is merged. Compact JSON, as GitHub sends it.
 */
export function mergedPullRequestBody(): string {
  const all = require('@octokit/webhooks-examples/api.github.com/index.json') as Array<{ name: string; examples: Example[] }>;
  const closed = (all.find((e) => e.name === 'pull_request')?.examples ?? []).filter((x) => x.action === 'closed');
  // The one closest to 23.7 KB (the size of the issue's measurement).
  const example = closed.sort((a, b) => Math.abs(JSON.stringify(a).length - 23_700) - Math.abs(JSON.stringify(b).length - 23_700))[0];
  if (!example?.pull_request) throw new Error('@octokit/webhooks-examples has no pull_request.closed example');
  const payload = structuredClone(example);
  const pr = payload.pull_request as Record<string, unknown>;
  pr.merged = true;
  pr.merged_at = pr.closed_at;
  pr.merged_by = payload.sender;
  return JSON.stringify(payload);
}

/** The headers Deckhand keeps with a GitHub delivery (what the store holds besides the body). */
export function githubHeaders(deliveryId: string, signature: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    'user-agent': 'GitHub-Hookshot/bench',
    'x-github-event': 'pull_request',
    'x-github-delivery': deliveryId,
    'x-github-hook-id': '4242',
    'x-github-hook-installation-target-type': 'repository',
    'x-github-hook-installation-target-id': '186853002',
    'x-hub-signature-256': signature,
  };
}

/** POST /webhooks/github with the same signed body and a new X-GitHub-Delivery each time. */
export function githubRequests(body: string): () => OneRequest {
  const signature = `sha256=${createHmac('sha256', secrets.github).update(body).digest('hex')}`;
  const run = randomUUID().slice(0, 8);
  let n = 0;
  const buffer = Buffer.from(body);
  return () => ({ path: '/webhooks/github', headers: githubHeaders(`${run}-${++n}`, signature), body: buffer });
}

/** A 1 KB JSON body such as a package feed or a CI system posts to a trigger. */
export function triggerBody(): string {
  const base = {
    event: 'package.published',
    feed: 'acme-internal',
    package: { id: 'Acme.Payments.Service', version: '4.12.0', authors: ['build-bot'], tags: ['service', 'payments'] },
    build: { id: 98231, url: 'https://ci.example.com/builds/98231', commit: 'c4295bd74fb0f4fda03689c3df3f2803b658fd85', branch: 'main' },
    notes: '',
  };
  const fill = 1024 - JSON.stringify(base).length;
  base.notes = 'x'.repeat(Math.max(0, fill));
  return JSON.stringify(base);
}

/** POST /triggers/<name> with an API key and a new X-Delivery-Id each time. */
export function triggerRequests(body: string): () => OneRequest {
  const run = randomUUID().slice(0, 8);
  let n = 0;
  const buffer = Buffer.from(body);
  return () => ({
    path: `/triggers/${triggerName}`,
    headers: { 'content-type': 'application/json', 'x-api-key': secrets.triggerKey, 'x-delivery-id': `${run}-${++n}` },
    body: buffer,
  });
}

/**
 * POST /slack/events: an ordinary message in a channel, not for the bot (no mention, no prefix) —
 * what most of a busy workspace's traffic is. Each has its own event_id and ts, and is signed
 * (v0, HMAC-SHA256 of "v0:<timestamp>:<body>") with the current time, as Slack does.
 */
export function slackAmbientRequests(): () => OneRequest {
  const texts = ['lunch at noon? the usual place', 'the staging dashboard looks slow again today', 'thanks, that fixed it', 'who has the release notes for 4.12?'];
  let n = 0;
  const secondsBase = Math.floor(Date.now() / 1000);
  return () => {
    n++;
    const envelope = messagePayload({ channel: 'C0BENCH', user: `U0PERSON${n % 7}`, text: texts[n % texts.length] as string, ts: `${secondsBase}.${String(n).padStart(6, '0')}` });
    envelope.event_id = `EvBENCH${secondsBase.toString(36)}${n}`;
    const body = JSON.stringify(envelope);
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = `v0=${createHmac('sha256', secrets.slackSigning).update(`v0:${timestamp}:${body}`).digest('hex')}`;
    return { path: '/slack/events', headers: { 'content-type': 'application/json', 'x-slack-signature': signature, 'x-slack-request-timestamp': String(timestamp) }, body };
  };
}
