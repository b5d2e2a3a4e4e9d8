import { readFileSync } from 'node:fs';
import type { Octokit } from '@octokit/rest';
import { DeckhandError, ErrorCode } from '../core/errors.js';
import { lazyImport } from '../core/lazy-module.js';
import type { Logger } from '../core/logger.js';
import { githubRoute } from '../metrics/labels.js';

/** How Deckhand authenticates to GitHub: a token, or a GitHub App installation. */
export type GitHubAuth =
  | { token: string }
  | { appId: number; privateKey: string; installationId: number };

export interface GitHubOptions {
  auth?: GitHubAuth | undefined;
  /** https://api.github.com, or https://<host>/api/v3 for GitHub Enterprise Server. */
  apiUrl: string;
  /** The secret set on the GitHub webhook; enables POST /webhooks/github. */
  webhookSecret?: string | undefined;
}

/** The auth from the environment variables (already validated by loadEnv), or undefined. */
export function githubAuthFromEnv(env: {
  GITHUB_TOKEN?: string | undefined;
  GITHUB_APP_ID?: number | undefined;
  GITHUB_APP_PRIVATE_KEY?: string | undefined;
  GITHUB_APP_PRIVATE_KEY_FILE?: string | undefined;
  GITHUB_APP_INSTALLATION_ID?: number | undefined;
}): GitHubAuth | undefined {
  if (env.GITHUB_TOKEN) return { token: env.GITHUB_TOKEN };
  if (env.GITHUB_APP_ID === undefined || env.GITHUB_APP_INSTALLATION_ID === undefined) return undefined;
  let pem = env.GITHUB_APP_PRIVATE_KEY;
  if (!pem && env.GITHUB_APP_PRIVATE_KEY_FILE) {
    try {
      pem = readFileSync(env.GITHUB_APP_PRIVATE_KEY_FILE, 'utf8');
    } catch (err) {
      throw new DeckhandError(ErrorCode.EnvInvalid, `GITHUB_APP_PRIVATE_KEY_FILE: cannot read ${env.GITHUB_APP_PRIVATE_KEY_FILE} (${(err as Error).message}).`, {}, { cause: err });
    }
  }
  // A PEM in a one-line .env value usually has its line breaks written as \n.
  const privateKey = (pem ?? '').replace(/\\n/g, '\n').trim();
  if (!/^-----BEGIN (RSA )?PRIVATE KEY-----[\s\S]+-----END (RSA )?PRIVATE KEY-----$/.test(privateKey)) {
    throw new DeckhandError(ErrorCode.EnvInvalid, 'The GitHub App private key is not a PEM private key (-----BEGIN RSA PRIVATE KEY----- ...): download it from the App settings.');
  }
  return { appId: env.GITHUB_APP_ID, privateKey, installationId: env.GITHUB_APP_INSTALLATION_ID };
}

/**
 * The Octokit, built at the first request that needs it: `const octokit = await github()`. Octokit
 * and @octokit/auth-app are ~80 files that a start does not need (decision 016); every caller gets
 * the same instance, and one that cannot be loaded fails that request with a clear error.
 */
export type GitHubClient = () => Promise<Octokit>;

const loadRest = lazyImport('@octokit/rest', () => import('@octokit/rest'));
const loadAppAuth = lazyImport('@octokit/auth-app', () => import('@octokit/auth-app'));

/**
 * An Octokit for the REST API, built at its first use. With a GitHub App, installation tokens are
 * minted from the App's JWT on first use and renewed before they expire (an hour) by @octokit/auth-app.
 */
export function createOctokit(options: { auth: GitHubAuth; apiUrl: string; logger: Logger; onRequest?: (route: string, status: number) => void }): GitHubClient {
  let building: Promise<Octokit> | undefined;
  return () =>
    (building ??= buildOctokit(options).catch((err: unknown) => {
      building = undefined;
      throw err;
    }));
}

async function buildOctokit(options: { auth: GitHubAuth; apiUrl: string; logger: Logger; onRequest?: (route: string, status: number) => void }): Promise<Octokit> {
  const octokit = await newOctokit(options);
  const observe = options.onRequest;
  if (observe) {
    // Every request, by its route template (`POST /repos/{owner}/{repo}/deployments`, never the
    // expanded path) and status; a failed one (4xx, 5xx, no answer: 0) too, then it goes on failing.
    octokit.hook.after('request', (response, request) => observe(githubRoute(request.method, request.url), response.status));
    octokit.hook.error('request', (error, request) => {
      const status = (error as { status?: unknown }).status;
      observe(githubRoute(request.method, request.url), typeof status === 'number' ? status : 0);
      throw error;
    });
  }
  return octokit;
}

async function newOctokit(options: { auth: GitHubAuth; apiUrl: string; logger: Logger }): Promise<Octokit> {
  const { Octokit } = await loadRest();
  // Octokit logs failed requests with console.error by default; they belong in Deckhand's log.
  const log = options.logger.child({ component: 'github' });
  const common = {
    baseUrl: options.apiUrl,
    userAgent: 'deckhand',
    log: { debug: (m: string) => log.debug(m), info: (m: string) => log.debug(m), warn: (m: string) => log.warn(m), error: (m: string) => log.warn(m) },
  };
  if ('token' in options.auth) return new Octokit({ ...common, auth: options.auth.token });
  const { createAppAuth } = await loadAppAuth();
  return new Octokit({
    ...common,
    authStrategy: createAppAuth,
    auth: { appId: options.auth.appId, privateKey: options.auth.privateKey, installationId: options.auth.installationId },
  });
}
