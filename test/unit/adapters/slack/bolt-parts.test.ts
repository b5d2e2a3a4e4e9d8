import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadBolt } from '../../../../adapters/slack/bolt-parts.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

describe('bolt-parts: Bolt loaded file by file', () => {
  it('finds, in the files it loads, everything the adapter and the gate use (a Bolt update that moves them fails here)', () => {
    const bolt = loadBolt('http');
    expect(typeof bolt.App).toBe('function');
    expect(typeof bolt.HTTPResponseAck).toBe('function');
    expect(typeof bolt.WebClient).toBe('function');
    for (const name of ['parseAndVerifyHTTPRequest', 'parseHTTPRequestBody', 'isRawBodyError', 'buildSSLCheckResponse', 'buildUrlVerificationResponse', 'buildContentResponse', 'extractRetryNumFromHTTPRequest', 'extractRetryReasonFromHTTPRequest', 'defaultProcessEventErrorHandler'] as const) {
      expect(typeof bolt.HTTPModuleFunctions[name]).toBe('function');
    }
    expect(bolt.HTTPModuleFunctions.defaultBodyLimit).toBeGreaterThan(0);
    expect(typeof bolt.SocketModeReceiver()).toBe('function');
  });

  it('in HTTP mode, under plain Node (the built bot), does not load Socket Mode, undici or express until a Socket Mode receiver is asked for', () => {
    // jest has its own module registry, so this runs the built module in a node process of its own.
    const built = pathToFileURL(path.join(root, 'dist', 'adapters', 'slack', 'bolt-parts.js')).href;
    const script = `
      import { createRequire } from 'node:module';
      const { loadBolt } = await import(${JSON.stringify(built)});
      const require = createRequire(${JSON.stringify(built)});
      const loaded = (name) => Object.keys(require.cache).some((file) => file.includes('/node_modules/' + name + '/'));
      const bolt = loadBolt('http');
      const app = new bolt.App({ token: 'xoxb-test', receiver: { init() {}, start: async () => {}, stop: async () => {} }, deferInitialization: true });
      const before = { socketMode: loaded('@slack/socket-mode'), undici: loaded('undici'), express: loaded('express'), app: typeof app.processEvent };
      const Receiver = bolt.SocketModeReceiver();
      console.log(JSON.stringify({ before, after: { socketMode: loaded('@slack/socket-mode'), receiver: typeof Receiver } }));
    `;
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' }).trim().split('\n').pop() ?? '{}');
    expect(out).toEqual({ before: { socketMode: false, undici: false, express: false, app: 'function' }, after: { socketMode: true, receiver: 'function' } });
  });
});
