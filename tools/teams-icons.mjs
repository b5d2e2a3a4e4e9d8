// Draws the two icons of the Teams app package (teams-app/color.png 192×192, teams-app/outline.png
// 32×32) as PNGs with node:zlib only: a ship's wheel, white on Deckhand blue (color) and white on
// transparent (outline, as the Teams app manifest asks). Run once: `node tools/teams-icons.mjs`;
// the generated files are committed.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(body) >>> 0);
  return Buffer.concat([length, body, crc]);
}

/** An RGBA PNG of size×size; pixel(x, y) returns [r, g, b, a]. */
function png(size, pixel) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // RGBA
  const rows = [];
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 4); // filter byte 0 (None)
    for (let x = 0; x < size; x++) row.set(pixel(x, y), 1 + x * 4);
    rows.push(row);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', zlib.deflateSync(Buffer.concat(rows), { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Coverage (0..1) of a ship's wheel centred in a size×size square, 4×4 supersampled. */
function wheel(size, x, y) {
  let hit = 0;
  for (let sy = 0; sy < 4; sy++) {
    for (let sx = 0; sx < 4; sx++) {
      const u = (x + (sx + 0.5) / 4) / size - 0.5;
      const v = (y + (sy + 0.5) / 4) / size - 0.5;
      const r = Math.hypot(u, v);
      const angle = Math.atan2(v, u);
      const rim = r > 0.27 && r < 0.34;
      const hub = r < 0.09;
      // Eight spokes reaching past the rim into handles.
      const nearest = Math.round(angle / (Math.PI / 4)) * (Math.PI / 4);
      const offSpoke = Math.abs(r * Math.sin(angle - nearest));
      const spoke = offSpoke < 0.028 && r < 0.43;
      if (rim || hub || spoke) hit += 1;
    }
  }
  return hit / 16;
}

const blue = [0x2e, 0x5b, 0xba];
const color = png(192, (x, y) => {
  const c = wheel(192, x, y);
  return [...blue.map((b) => Math.round(b + (255 - b) * c)), 255];
});
const outline = png(32, (x, y) => [255, 255, 255, Math.round(255 * wheel(32, x, y))]);
writeFileSync(path.join(root, 'teams-app', 'color.png'), color);
writeFileSync(path.join(root, 'teams-app', 'outline.png'), outline);
process.stdout.write(`wrote teams-app/color.png (${color.length} bytes) and teams-app/outline.png (${outline.length} bytes)\n`);
