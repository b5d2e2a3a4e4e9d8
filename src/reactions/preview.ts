import path from 'node:path';
import type { Reaction } from './load-reactions.js';
import { createTemplateEngine } from './template.js';

const templates = createTemplateEngine();

/** What each action of a reaction would do for this context: rendered, not sent (deckhand trigger --dry-run). */
export function previewActions(reaction: Reaction, context: Record<string, unknown>, baseDir: string): Array<Record<string, unknown>> {
  const render = (text: string) => templates.render(text, context);
  const deep = <T>(value: T) => templates.renderDeep(value, context);
  return reaction.do.map((action) => {
    if ('http' in action) {
      const { method, url, headers, json, body } = action.http;
      return {
        http: {
          method,
          url: render(url),
          headers: deep(headers),
          ...(json !== undefined ? { json: deep(json) } : {}),
          ...(body !== undefined ? { body: render(body) } : {}),
        },
      };
    }
    if ('chat' in action) return { chat: deep(action.chat) };
    if ('deploy' in action) return { deploy: deep(action.deploy) };
    if ('create_release' in action) return { create_release: deep(action.create_release) };
    const script = typeof action.script === 'string' ? { path: action.script, args: [] as string[] } : action.script;
    return { script: { path: path.resolve(baseDir, script.path), args: script.args.map(render) } };
  });
}
