import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { projectRoot } from '../../../../src/app.js';
import { slackEventsPath } from '../../../../adapters/slack/slack-adapter.js';

interface Manifest {
  features: { slash_commands: Array<{ command: string; url?: string }> };
  oauth_config: { scopes: { bot: string[] } };
  settings: { event_subscriptions: { request_url?: string; bot_events: string[] }; interactivity: { is_enabled: boolean; request_url?: string }; socket_mode_enabled: boolean };
}

const load = (file: string) => parse(readFileSync(path.join(projectRoot, file), 'utf8')) as Manifest;

// What the adapter does, and the scope or event each needs.
const neededScopes = ['chat:write', 'reactions:write', 'commands', 'app_mentions:read', 'im:history', 'channels:history', 'groups:history'];
const neededEvents = ['app_mention', 'message.im', 'message.channels', 'message.groups'];

describe('Slack app manifests', () => {
  test.each([
    ['slack-app-manifest.yml', false],
    ['slack-app-manifest.socket.yml', true],
  ])('%s grants what the adapter uses', (file, socket) => {
    const manifest = load(file);
    expect(manifest.oauth_config.scopes.bot).toEqual(expect.arrayContaining(neededScopes));
    expect(manifest.settings.event_subscriptions.bot_events).toEqual(expect.arrayContaining(neededEvents));
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    expect(manifest.features.slash_commands.map((c) => c.command)).toEqual(['/deckhand']);
    expect(manifest.settings.socket_mode_enabled).toBe(socket);
    const urls = [manifest.settings.event_subscriptions.request_url, manifest.settings.interactivity.request_url, manifest.features.slash_commands[0]?.url];
    if (socket) expect(urls.filter(Boolean)).toEqual([]);
    else for (const url of urls) expect(new URL(url ?? '').pathname).toBe(slackEventsPath);
  });
});
