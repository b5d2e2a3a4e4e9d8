/**
 * Anchor: @octokit/webhooks' createNodeMiddleware with the same secret — reads the body, verifies
 * X-Hub-Signature-256, parses the JSON and dispatches `pull_request.closed` to a listener, then
 * answers 200. What a GitHub App built on Octokit does per delivery before its own work.
 */
import { createServer } from 'node:http';
import { Webhooks, createNodeMiddleware } from '@octokit/webhooks';

const secret = process.env.GITHUB_WEBHOOK_SECRET ?? '';
const webhooks = new Webhooks({ secret });
let merged = 0;
webhooks.on('pull_request.closed', ({ payload }) => {
  if (payload.pull_request.merged) merged++;
});

const middleware = createNodeMiddleware(webhooks, { path: '/webhooks/github' });
const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/readyz') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ready"}');
    return;
  }
  middleware(req, res).catch(() => {
    if (!res.headersSent) res.writeHead(500).end();
  });
});

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
process.once('SIGTERM', () =>
  server.close(() => {
    process.stderr.write(`merged pull requests seen: ${merged}\n`);
    process.exit(0);
  }),
);
