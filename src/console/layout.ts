import type { FastifyReply } from 'fastify';
import type { Actor } from '../core/permissions.js';
import { html, type Html } from './html.js';

export interface PageChrome {
  title: string;
  /** The signed-in person; null on the sign-in page. */
  actor: Actor | null;
  /** The CSRF token the page's forms carry. */
  csrf: string;
  notice?: string | null;
  /** Which navigation entry is current. */
  section?: string;
}

const sections: Array<[string, string]> = [
  ['deployments', 'Deployments'],
  ['locks', 'Locks & approvals'],
  ['deliveries', 'Deliveries'],
  ['jobs', 'Jobs'],
  ['reactions', 'Reactions'],
  ['audit', 'Audit log'],
];

/** Hidden CSRF field every POST form carries. */
export const csrfField = (csrf: string): Html => html`<input type="hidden" name="_csrf" value="${csrf}">`;

/** A one-button POST form (the console's only way to change anything). */
export function postButton(action: string, label: string, csrf: string, fields: Record<string, string> = {}, className = ''): Html {
  return html`<form method="post" action="${action}" class="inline">${csrfField(csrf)}${Object.entries(fields).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`)}<button type="submit" class="${className}">${label}</button></form>`;
}

export function layout(chrome: PageChrome, body: Html): string {
  const nav = chrome.actor
    ? html`<nav>${sections.map(([key, label]) => html`<a href="/console/${key}"${chrome.section === key ? html` aria-current="page"` : ''}>${label}</a>`)}
<span class="who">Signed in as <strong data-testid="actor">${chrome.actor.name && chrome.actor.name !== chrome.actor.id ? `${chrome.actor.name} (${chrome.actor.id})` : chrome.actor.id}</strong>
${chrome.csrf ? html`<form method="post" action="/console/sign-out" class="inline">${csrfField(chrome.csrf)}<button type="submit">Sign out</button></form>` : ''}</span></nav>`
    : '';
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${chrome.title} · Deckhand</title><link rel="stylesheet" href="/console/assets/console.css"></head>
<body><header><a class="brand" href="/console">Deckhand</a>${nav}</header>
<main>${chrome.notice ? html`<p class="notice" role="status">${chrome.notice}</p>` : ''}<h1>${chrome.title}</h1>
${body}</main></body></html>`.text;
}

/** Security headers of every console page: no scripts at all, no framing, forms post only here. */
export function sendPage(reply: FastifyReply, status: number, page: string): FastifyReply {
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'same-origin')
    .header('content-security-policy', "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    .send(page);
}

export const consoleCss = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{display:flex;flex-wrap:wrap;align-items:center;gap:1rem;padding:.6rem 1.2rem;background:#1d2330;color:#fff}
header a{color:#cfd6e4;text-decoration:none}header a[aria-current]{color:#fff;font-weight:600;border-bottom:2px solid #7fb2ff}
.brand{font-weight:700;color:#fff!important;margin-right:1rem}nav{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;flex:1}
.who{margin-left:auto;color:#cfd6e4}main{padding:1rem 1.2rem;max-width:1300px}h1{font-size:1.4rem;margin:.2rem 0 1rem}h2{font-size:1.1rem;margin-top:1.6rem}
table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #e3e6ec;vertical-align:top}
th{background:#eef1f5;font-weight:600}td.err,pre.err{color:#a11}pre{background:#fff;border:1px solid #e3e6ec;padding:.6rem;overflow:auto;max-height:30rem;white-space:pre-wrap;word-break:break-all}
form.inline{display:inline}form.filters{display:flex;flex-wrap:wrap;gap:.6rem;align-items:end;margin-bottom:1rem}
label{display:flex;flex-direction:column;font-size:.85rem;color:#555}input,select,button{font:inherit;padding:.25rem .45rem}
button{cursor:pointer;border:1px solid #8a94a6;background:#fff;border-radius:4px}button.primary{background:#2b6cd8;color:#fff;border-color:#2b6cd8}button.danger{border-color:#c33;color:#c33}
.notice{background:#e7f4e8;border:1px solid #9c9;padding:.5rem .8rem}.error{background:#fbeaea;border:1px solid #d99;padding:.5rem .8rem}
.state{display:inline-block;padding:0 .4rem;border-radius:3px;background:#e3e6ec}.state-succeeded,.state-done{background:#d7f0d8}.state-failed,.state-dead{background:#f6d3d3}
.state-running{background:#d6e6ff}.state-queued,.state-pending{background:#fff1c7}.muted{color:#777}.pager{margin-top:.8rem}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{color:#555}dd{margin:0}
`;
