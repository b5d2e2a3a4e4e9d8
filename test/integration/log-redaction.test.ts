import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBot } from './bot-process.js';

describe('secrets never reach the log of the running bot', () => {
  test('at LOG_LEVEL=info and trace: ?apiKey= of a trigger and ?token= of a log page are masked in request lines', async () => {
    for (const level of ['info', 'trace']) {
      const cwd = mkdtempSync(path.join(os.tmpdir(), 'deckhand-logs-'));
      mkdirSync(path.join(cwd, 'reactions'));
      writeFileSync(path.join(cwd, 'reactions', 'pkg.yaml'), 'on: { webhook: pkg, auth: { api_key: "${secret.PKG_KEY}" } }\ndo:\n  - chat: { channel: "#rel", text: "new {{ payload.name }}" }\n');
      const key = 'pkg-key-SHOULD-NOT-BE-LOGGED-1';
      const bot = await startBot({ cwd, env: { PKG_KEY: key, LOG_LEVEL: level } });
      try {
        await bot.waitFor('Deckhand on the terminal');
        const base = `http://127.0.0.1:${bot.port}`;
        const accepted = await fetch(`${base}/triggers/pkg?apiKey=${key}&app=hello`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"api"}' });
        expect(accepted.status).toBe(202);
        const wrongKey = await fetch(`${base}/triggers/pkg?apiKey=WRONG-KEY-NOT-LOGGED-2`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
        expect(wrongKey.status).toBe(401);
        const log = await fetch(`${base}/deployments/1/log?token=LOG-TOKEN-NOT-LOGGED-3`);
        expect(log.status).toBe(404);
        await bot.waitFor('[#rel] new api');
        await bot.waitFor('/deployments/1/log?token=***');
        const stderr = bot.stderr();
        expect(stderr).toContain('/triggers/pkg?apiKey=***&app=hello');
        for (const secret of [key, 'WRONG-KEY-NOT-LOGGED-2', 'LOG-TOKEN-NOT-LOGGED-3']) expect(stderr).not.toContain(secret);
      } finally {
        bot.child.stdin.end();
        await bot.exited;
      }
    }
  });
});
