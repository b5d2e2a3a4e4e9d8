import path from 'node:path';
import type { Reaction } from './load-reactions.js';
import type { ReactionAction } from './schema.js';
import { createTemplateEngine } from './template.js';

const templates = createTemplateEngine();

/** An http action rendered for one context: what is sent, or shown by --dry-run. */
export function renderHttp(spec: Extract<ReactionAction, { http: unknown }>['http'], context: Record<string, unknown>) {
  const render = (text: string) => templates.render(text, context);
  return {
    method: spec.method,
    url: render(spec.url),
    headers: templates.renderDeep(spec.headers, context),
    ...(spec.json !== undefined ? { json: templates.renderDeep(spec.json, context) } : {}),
    ...(spec.body !== undefined ? { body: render(spec.body) } : {}),
  };
}

/** What each action of a reaction would do for this context: rendered, not sent (deckhand trigger --dry-run). */
export function previewActions(reaction: Reaction, context: Record<string, unknown>, baseDir: string): Array<Record<string, unknown>> {
  const render = (text: string) => templates.render(text, context);
  const deep = <T>(value: T) => templates.renderDeep(value, context);
  return reaction.do.map((action) => {
    if ('http' in action) return { http: renderHttp(action.http, context) };
    if ('chat' in action) return { chat: deep(action.chat) };
    if ('deploy' in action) return { deploy: deep(action.deploy) };
    if ('create_release' in action) return { create_release: deep(action.create_release) };
    const script = typeof action.script === 'string' ? { path: action.script, args: [] as string[] } : action.script;
    return { script: { path: path.resolve(baseDir, script.path), args: script.args.map(render) } };
  });
}
