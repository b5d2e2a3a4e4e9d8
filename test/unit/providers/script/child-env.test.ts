import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { buildChildEnv, writePayloadFile } from '../../../../src/providers/script/child-env.js';

describe('buildChildEnv', () => {
  test('keeps only the safe base from the parent and adds the extras', () => {
    const parent = { PATH: '/bin', HOME: '/home/bot', SLACK_BOT_TOKEN: 'xoxb-secret', LANG: 'C.UTF-8' };
    expect(buildChildEnv({ DECKHAND_APP: 'hello' }, parent)).toEqual({
      PATH: '/bin',
      HOME: '/home/bot',
      LANG: 'C.UTF-8',
      DECKHAND_APP: 'hello',
    });
  });

  test('lets the extras override the base', () => {
    expect(buildChildEnv({ PATH: '/opt/bin' }, { PATH: '/bin' })).toEqual({ PATH: '/opt/bin' });
  });
});

describe('writePayloadFile', () => {
  test('writes private JSON and removes it again', async () => {
    const file = await writePayloadFile({ id: 7, ref: 'main' });
    expect(JSON.parse(readFileSync(file.path, 'utf8'))).toEqual({ id: 7, ref: 'main' });
    expect(statSync(file.path).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file.path)).mode & 0o777).toBe(0o700);
    await file.remove();
    expect(existsSync(path.dirname(file.path))).toBe(false);
    await file.remove();
  });
});
