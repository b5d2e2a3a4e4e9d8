/**
 * The fake Slack of the tests (test/fakes/slack) as a process of its own, so Deckhand and the bare
 * Bolt App reach auth.test on 127.0.0.1 and never slack.com. Prints one JSON line: the API URL and
 * the workspace (bot token, ids).
 */
import { FakeSlack } from '../test/fakes/slack/fake-slack.js';

const fake = await FakeSlack.start();
process.stdout.write(`${JSON.stringify({ apiUrl: fake.apiUrl, ...fake.workspace })}\n`);
process.once('SIGTERM', () => process.exit(0));
