/**
 * Anchor: a bare Bolt 5 App in HTTP mode — the same signing secret (signature verification on),
 * the same fake Slack for auth.test, one `message` listener that does nothing, and an `app_mention`
 * listener that answers "whoami" with say() (chat.postMessage), as a Bolt user would write a
 * command; Bolt's defaults (acknowledge before processing). GET /readyz is a Bolt custom route, for
 * the start-up timing.
 */
import { App, LogLevel } from '@slack/bolt';

const app = new App({
  token: process.env.SLACK_BOT_TOKEN ?? '',
  signingSecret: process.env.SLACK_SIGNING_SECRET ?? '',
  clientOptions: { slackApiUrl: process.env.SLACK_API_URL ?? '' },
  logLevel: LogLevel.ERROR,
  customRoutes: [
    {
      path: '/readyz',
      method: ['GET'],
      handler: (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ready"}');
      },
    },
  ],
});

let seen = 0;
app.message(async ({ message }) => {
  if (message.subtype === undefined) seen++;
});

// A command, the way the Bolt docs write one: answer a mention in its channel.
app.event('app_mention', async ({ event, say }) => {
  if (/\bwhoami\b/.test(event.text)) await say(`You are <@${event.user}>.`);
});

await app.start({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
process.once('SIGTERM', () => {
  process.stderr.write(`messages seen: ${seen}\n`);
  void app.stop().then(() => process.exit(0));
});
