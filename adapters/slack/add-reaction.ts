import type { WebClient } from '@slack/web-api';

/** reactions.add, where Slack's already_reacted (the emoji is there) counts as done. */
export async function addReaction(client: WebClient, channel: string, ts: string, name: string): Promise<void> {
  try {
    await client.reactions.add({ channel, timestamp: ts, name });
  } catch (err) {
    if ((err as { data?: { error?: string } }).data?.error !== 'already_reacted') throw err;
  }
}
