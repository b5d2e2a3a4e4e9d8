import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { FakeSlack } from '../fakes/slack/fake-slack.js';
import { freePort, startBot } from './bot-process.js';

/** Runs the bot until it exits; resolves with its exit code and stderr. */
async function runUntilExit(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const bot = await startBot({ env });
  const code = await bot.exited;
  return { code, stderr: bot.stderr() };
}

/** Local IPv4 addresses with a listening TCP socket on `port`, from /proc/net/tcp (Linux). */
function listeningAddresses(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A')
    .map((f) => (f[1] ?? '').slice(0, 8).match(/../g)?.reverse().map((b) => parseInt(b, 16)).join('.') ?? '');
}

const noStack = (stderr: string) => expect(stderr).not.toMatch(/^\s+at /m);

describe('start-up problems say what to fix, without a stack', () => {
  let slack: FakeSlack;
  beforeAll(async () => {
    slack = await FakeSlack.start();
  });
  afterAll(async () => slack.close());

  test('a Slack bot token of the right shape that Slack refuses names SLACK_BOT_TOKEN', async () => {
    const { code, stderr } = await runUntilExit({ SLACK_BOT_TOKEN: 'xoxb-not-the-real-one', SLACK_SIGNING_SECRET: 'signing-secret-123', SLACK_API_URL: slack.apiUrl });
    expect(code).toBe(1);
    expect(stderr).toContain('deckhand: Slack refused SLACK_BOT_TOKEN (invalid_auth). Set SLACK_BOT_TOKEN to the Bot User OAuth Token');
    expect(stderr).not.toContain('xoxb-not-the-real-one');
    noStack(stderr);
  });

  test('an app-level token that Slack refuses names SLACK_APP_TOKEN', async () => {
    const { code, stderr } = await runUntilExit({ SLACK_BOT_TOKEN: slack.workspace.botToken, SLACK_APP_TOKEN: 'xapp-not-the-real-one', SLACK_API_URL: slack.apiUrl });
    expect(code).toBe(1);
    expect(stderr).toContain('deckhand: Slack refused SLACK_APP_TOKEN (invalid_auth).');
    noStack(stderr);
  });

  test('an unreachable Slack API says where it looked and what to check', async () => {
    const closed = await freePort();
    const { code, stderr } = await runUntilExit({ SLACK_BOT_TOKEN: 'xoxb-any-token', SLACK_SIGNING_SECRET: 'signing-secret-123', SLACK_API_URL: `http://127.0.0.1:${closed}/api/` });
    expect(code).toBe(1);
    expect(stderr).toMatch(new RegExp(`deckhand: Could not reach the Slack API at http://127\\.0\\.0\\.1:${closed}/api \\(ECONNREFUSED\\)\\. Check the network or proxy, and SLACK_API_URL`));
    noStack(stderr);
  });

  test('a port in use says so and names PORT', async () => {
    const port = await freePort();
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    try {
      const { code, stderr } = await runUntilExit({ PORT: String(port) });
      expect(code).toBe(1);
      expect(stderr).toContain(`deckhand: port ${port} is in use on 127.0.0.1 (another Deckhand, or another program): set PORT to a free port, or PORT=0 to pick one.`);
      noStack(stderr);
    } finally {
      squatter.close();
    }
  });

  test('the terminal adapter listens on loopback unless HOST says otherwise', async () => {
    const bot = await startBot({ env: { HOST: '' } });
    try {
      await bot.waitFor('Deckhand on the terminal');
      expect(bot.stdout()).toContain(`HTTP http://127.0.0.1:${bot.port}.`);
      // What the kernel says the socket is bound to (Fastify prints 127.0.0.1 for 0.0.0.0 too).
      expect(listeningAddresses(bot.port)).toEqual(['127.0.0.1']);
    } finally {
      bot.child.stdin.end();
      await bot.exited;
    }
  });
});
