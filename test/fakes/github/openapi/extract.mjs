#!/usr/bin/env node
// Writes test/fakes/github/openapi/api.github.com.extract.json: the parts of GitHub's REST API
// description (@octokit/openapi, api.github.com.deref.json) that the fake GitHub serves and
// validates against. The whole package is ~385 MB; the extract is under 1 MB.
//
//   node test/fakes/github/openapi/extract.mjs [version]      (default: the version recorded in the extract)
//
// It fetches the package with `npm pack` into a temporary folder, so @octokit/openapi need not be
// installed. Add a path below when the fake grows a route.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const target = path.join(here, 'api.github.com.extract.json');
const paths = [
  '/app',
  '/app/installations/{installation_id}/access_tokens',
  '/repos/{owner}/{repo}',
  '/repos/{owner}/{repo}/branches/{branch}',
  '/repos/{owner}/{repo}/branches/{branch}/protection',
  '/repos/{owner}/{repo}/compare/{basehead}',
  '/repos/{owner}/{repo}/compare/{base}...{head}',
  '/repos/{owner}/{repo}/deployments',
  '/repos/{owner}/{repo}/deployments/{deployment_id}',
  '/repos/{owner}/{repo}/deployments/{deployment_id}/statuses',
  '/repos/{owner}/{repo}/deployments/{deployment_id}/statuses/{status_id}',
  // Real operations the fake does not implement (it answers 501 for them, 404 for made-up paths).
  '/repos/{owner}/{repo}/issues',
  '/repos/{owner}/{repo}/pulls/comments',
  '/repos/{owner}/{repo}/pulls/{pull_number}',
];
const webhooks = ['deployment-created', 'deployment-status-created'];

const recorded = existsSync(target) ? JSON.parse(readFileSync(target, 'utf8'))['x-extract']?.package : undefined;
const version = process.argv[2] ?? recorded?.split('@').pop() ?? 'latest';
const dir = mkdtempSync(path.join(os.tmpdir(), 'octokit-openapi-'));
try {
  const tarball = execFileSync('npm', ['pack', `@octokit/openapi@${version}`, '--silent'], { cwd: dir, encoding: 'utf8' }).trim().split('\n').pop();
  execFileSync('tar', ['-xzf', tarball, 'package/package.json', 'package/generated/api.github.com.deref.json'], { cwd: dir });
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package/package.json'), 'utf8'));
  const doc = JSON.parse(readFileSync(path.join(dir, 'package/generated/api.github.com.deref.json'), 'utf8'));
  const missing = [...paths.filter((p) => !doc.paths[p]), ...webhooks.filter((w) => !doc['x-webhooks']?.[w])];
  if (missing.length > 0) throw new Error(`not in @octokit/openapi@${pkg.version}: ${missing.join(', ')}`);
  const extract = {
    'x-extract': { package: `@octokit/openapi@${pkg.version}`, file: 'generated/api.github.com.deref.json', by: 'test/fakes/github/openapi/extract.mjs' },
    openapi: doc.openapi,
    info: doc.info,
    paths: Object.fromEntries(paths.map((p) => [p, doc.paths[p]])),
    'x-webhooks': Object.fromEntries(webhooks.map((w) => [w, doc['x-webhooks'][w]])),
  };
  writeFileSync(target, `${JSON.stringify(extract)}\n`);
  console.log(`wrote ${path.relative(process.cwd(), target)} from @octokit/openapi@${pkg.version} (${paths.length} paths, ${webhooks.length} webhooks)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
