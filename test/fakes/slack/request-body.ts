/**
 * Decodes a Web API request the way Slack does: arguments may arrive as a query string,
 * a form-urlencoded body (what @slack/web-api sends), a JSON body, or multipart (file uploads).
 */
import type { IncomingMessage } from 'node:http';

/**
 * In form bodies @slack/web-api JSON-encodes every non-scalar argument, so these arrive as
 * strings like '[{"type":"section",...}]'. Slack parses them server-side; so do we.
 */
const JSON_FIELDS = new Set(['blocks', 'attachments', 'metadata', 'view', 'unfurls']);

export class BadRequestBody extends Error {}

async function readRaw(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function readArgs(req: IncomingMessage, url: URL): Promise<Record<string, unknown>> {
  const args: Record<string, unknown> = Object.fromEntries(url.searchParams);
  const raw = await readRaw(req);
  const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();

  if (raw.length > 0) {
    if (contentType === 'application/json') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw.toString('utf8'));
      } catch {
        throw new BadRequestBody('invalid_json');
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new BadRequestBody('invalid_json');
      Object.assign(args, parsed);
    } else if (contentType === 'multipart/form-data') {
      const form = await new Request(url, {
        method: 'POST',
        headers: { 'content-type': req.headers['content-type'] ?? '' },
        body: raw,
      }).formData();
      for (const [key, value] of form) {
        args[key] = typeof value === 'string' ? value : { filename: value.name, size: value.size };
      }
    } else {
      Object.assign(args, Object.fromEntries(new URLSearchParams(raw.toString('utf8'))));
    }
  }

  for (const key of JSON_FIELDS) {
    const value = args[key];
    if (typeof value !== 'string') continue;
    try {
      args[key] = JSON.parse(value);
    } catch {
      // Left as a string: the method handler reports invalid_blocks / invalid_attachments.
    }
  }
  return args;
}

/** Slack takes the token from `Authorization: Bearer ...` or, for form bodies, a `token` argument. */
export function tokenOf(req: IncomingMessage, args: Record<string, unknown>): string | null {
  const header = req.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    return match ? match[1]!.trim() : null;
  }
  return typeof args.token === 'string' && args.token !== '' ? args.token : null;
}
