// `npm run teams:package`: the Teams app package to upload (sideload) or publish to your org —
// teams-app/deckhand-teams.zip holding manifest.json (placeholders filled) and the two icons at
// its root, as Teams wants them.
//
//   TEAMS_APP_ID          the bot's Microsoft App ID (a GUID); required
//   DECKHAND_PUBLIC_URL   https URL used as the developer website / privacy / terms links; optional
//   --out <file>          where to write the zip (default teams-app/deckhand-teams.zip)
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { strToU8, zipSync } from 'fflate';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const appDir = path.join(root, 'teams-app');
const guid = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const fallbackWebsite = 'https://www.example.com/deckhand';

function fail(message) {
  process.stderr.write(`teams:package: ${message}\n`);
  process.exit(1);
}

const outIndex = process.argv.indexOf('--out');
const out = outIndex > 0 && process.argv[outIndex + 1] ? path.resolve(process.argv[outIndex + 1]) : path.join(appDir, 'deckhand-teams.zip');

const appId = (process.env.TEAMS_APP_ID ?? '').trim();
if (!appId) fail('TEAMS_APP_ID is not set. Set it to your bot\'s Microsoft App ID (Azure Bot → Configuration, or the Teams Developer Portal), e.g. TEAMS_APP_ID=… npm run teams:package');
if (!guid.test(appId)) fail(`TEAMS_APP_ID must be the bot's Microsoft App ID, a GUID like 00000000-0000-0000-0000-000000000000; got "${appId}".`);

let website = (process.env.DECKHAND_PUBLIC_URL ?? '').trim().replace(/\/+$/, '');
if (website && !/^https:\/\/[^\s"]+$/.test(website)) fail(`DECKHAND_PUBLIC_URL must be an https:// URL for the app manifest (Teams requires https links); got "${website}".`);
if (!website) {
  website = fallbackWebsite;
  process.stderr.write(`teams:package: DECKHAND_PUBLIC_URL is not set; the manifest's developer links point to ${fallbackWebsite}.\n`);
}

const template = readFileSync(path.join(appDir, 'manifest.json'), 'utf8');
const values = { TEAMS_APP_ID: appId.toLowerCase(), DECKHAND_WEBSITE_URL: website };
const filled = template.replace(/\{\{([A-Z_]+)\}\}/g, (whole, name) => {
  if (!(name in values)) fail(`teams-app/manifest.json has an unknown placeholder ${whole}.`);
  // Substituted inside JSON strings: escaped as JSON.
  return JSON.stringify(values[name]).slice(1, -1);
});
const manifest = JSON.parse(filled); // a broken template fails here, before anything is written

const zip = zipSync(
  {
    'manifest.json': strToU8(`${JSON.stringify(manifest, null, 2)}\n`),
    [manifest.icons.color]: readFileSync(path.join(appDir, manifest.icons.color)),
    [manifest.icons.outline]: readFileSync(path.join(appDir, manifest.icons.outline)),
  },
  { level: 9, mtime: new Date('2026-01-01T00:00:00Z') },
);
writeFileSync(out, zip);
process.stdout.write(`wrote ${path.relative(process.cwd(), out) || out} (${zip.length} bytes) for bot ${values.TEAMS_APP_ID}: upload it in Teams → Apps → Manage your apps → Upload an app.\n`);
