import { Ajv } from 'ajv';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { strFromU8, unzipSync } from 'fflate';
import { projectRoot } from '../../src/app.js';

const run = promisify(execFile);
const script = path.join(projectRoot, 'tools/teams-package.mjs');
const appId = '3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b';

/** `npm run teams:package` (the script it runs), as a child process with only the env given. */
async function teamsPackage(env: Record<string, string>, out?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [script, ...(out ? ['--out', out] : [])], { env: { PATH: process.env.PATH ?? '', ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Width and height from a PNG's IHDR (after the 8-byte signature and the chunk's length and type). */
function pngSize(data: Uint8Array): { width: number; height: number } {
  const buffer = Buffer.from(data);
  expect(buffer.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(buffer.subarray(12, 16).toString('ascii')).toBe('IHDR');
  return { width: buffer.readUInt32BE(16), height: buffer.readUInt32BE(20) };
}

/**
 * The parts of the Teams app manifest schema v1.22 that Deckhand's manifest uses, as published
 * (developer.microsoft.com/json-schemas/teams/v1.22/MicrosoftTeams.schema.json, read from the
 * microsoft/json-schemas repository): required fields, lengths, guid ids, bot scopes, ≤ 10 commands.
 * The top-level `required` list is from memory of that schema (it was not in the part read).
 */
const guid = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const https = '^https://';
const scopes = { type: 'array', maxItems: 3, items: { enum: ['team', 'personal', 'groupChat', 'copilot'] } };
const manifestSchema = {
  type: 'object',
  required: ['manifestVersion', 'version', 'id', 'developer', 'name', 'description', 'icons', 'accentColor'],
  properties: {
    manifestVersion: { const: '1.22' },
    version: { type: 'string', pattern: '^\\d+\\.\\d+\\.\\d+$' },
    id: { type: 'string', pattern: guid },
    developer: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'websiteUrl', 'privacyUrl', 'termsOfUseUrl'],
      properties: { name: { type: 'string', maxLength: 32 }, websiteUrl: { type: 'string', pattern: https }, privacyUrl: { type: 'string', pattern: https }, termsOfUseUrl: { type: 'string', pattern: https } },
    },
    name: { type: 'object', additionalProperties: false, required: ['short'], properties: { short: { type: 'string', maxLength: 30 }, full: { type: 'string', maxLength: 100 } } },
    description: { type: 'object', additionalProperties: false, required: ['short', 'full'], properties: { short: { type: 'string', maxLength: 80 }, full: { type: 'string', maxLength: 4000 } } },
    icons: { type: 'object', additionalProperties: false, required: ['outline', 'color'], properties: { outline: { type: 'string' }, color: { type: 'string' } } },
    accentColor: { type: 'string', pattern: '^#[0-9a-fA-F]{6}$' },
    bots: {
      type: 'array',
      maxItems: 1,
      items: {
        type: 'object',
        required: ['botId', 'scopes'],
        properties: {
          botId: { type: 'string', pattern: guid },
          scopes,
          commandLists: {
            type: 'array',
            maxItems: 3,
            items: {
              type: 'object',
              additionalProperties: false,
              properties: {
                scopes,
                commands: { type: 'array', maxItems: 10, items: { type: 'object', additionalProperties: false, required: ['title', 'description'], properties: { title: { type: 'string', maxLength: 128 }, description: { type: 'string', maxLength: 4000 } } } },
              },
            },
          },
        },
      },
    },
  },
};

describe('npm run teams:package', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'deckhand-teams-package-'));

  test('refuses without TEAMS_APP_ID, or with one that is not a GUID, and writes nothing', async () => {
    const out = path.join(dir, 'refused.zip');
    const unset = await teamsPackage({}, out);
    expect(unset.code).toBe(1);
    expect(unset.stderr).toContain('TEAMS_APP_ID is not set');
    const notGuid = await teamsPackage({ TEAMS_APP_ID: 'deckhand-bot' }, out);
    expect(notGuid.code).toBe(1);
    expect(notGuid.stderr).toContain('must be the bot\'s Microsoft App ID, a GUID');
    const http = await teamsPackage({ TEAMS_APP_ID: appId, DECKHAND_PUBLIC_URL: 'http://deckhand.internal' }, out);
    expect(http.code).toBe(1);
    expect(http.stderr).toContain('DECKHAND_PUBLIC_URL must be an https:// URL');
    expect(() => readFileSync(out)).toThrow();
  });

  test('zips manifest.json with the app id filled in and the two icons at the root; the manifest has the schema\'s required fields', async () => {
    const out = path.join(dir, 'deckhand-teams.zip');
    const result = await teamsPackage({ TEAMS_APP_ID: appId.toUpperCase(), DECKHAND_PUBLIC_URL: 'https://deckhand.example.org/' }, out);
    expect(result).toMatchObject({ code: 0 });
    const entries = unzipSync(readFileSync(out));
    expect(Object.keys(entries).sort()).toEqual(['color.png', 'manifest.json', 'outline.png']);

    const text = strFromU8(entries['manifest.json']!);
    expect(text).not.toContain('{{');
    const manifest = JSON.parse(text) as { id: string; bots: Array<{ botId: string; scopes: string[]; commandLists: Array<{ commands: Array<{ title: string }> }> }>; developer: Record<string, string> };
    expect(manifest.id).toBe(appId);
    expect(manifest.bots[0]!.botId).toBe(appId);
    expect(manifest.bots[0]!.scopes.sort()).toEqual(['groupChat', 'personal', 'team']);
    expect(manifest.developer.websiteUrl).toBe('https://deckhand.example.org');
    const validate = new Ajv({ allErrors: true, strict: false }).compile(manifestSchema);
    const valid = validate(manifest);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);

    // Every command the manifest offers is one Deckhand has.
    for (const { title } of manifest.bots[0]!.commandLists[0]!.commands) expect(readFileSync(path.join(projectRoot, 'commands', `${title}.ts`), 'utf8')).toContain(`id: '${title}'`);

    expect(pngSize(entries['color.png']!)).toEqual({ width: 192, height: 192 });
    expect(pngSize(entries['outline.png']!)).toEqual({ width: 32, height: 32 });
  });
});
