/**
 * Label values for Deckhand's metrics, from bounded sets only (see metrics.ts). No prom-client
 * here: the API clients import these without pulling in the metrics registry.
 */

/** A label value from code: letters, digits, . _ - / { } and spaces only, and short; else "other". */
export function boundedToken(value: string): string {
  return /^[\w.\-/{} ]{1,120}$/.test(value) ? value : 'other';
}

/** A Slack Web API method from the URL the WebClient posts to (…/api/chat.postMessage); "other" for anything else. */
export function slackMethod(url: string): string {
  let pathname: string;
  try {
    pathname = new URL(url).pathname;
  } catch {
    return 'other';
  }
  const last = pathname.split('/').pop() ?? '';
  return /^[a-z]+(\.[a-zA-Z]+){1,3}$/.test(last) ? last : 'other';
}

/** A GitHub route template from Octokit's request options (`/repos/{owner}/{repo}/deployments`); literal ids and URLs are reduced. */
export function githubRoute(method: string | undefined, url: string | undefined): string {
  let route = (url ?? '').replace(/^https?:\/\/[^/]+/, '').split('?')[0] ?? '';
  // Octokit passes the template; a literal path (pagination links) has its numbers and hashes replaced.
  route = route
    .split('/')
    .map((segment) => (segment.startsWith('{') ? segment : /^\d+$/.test(segment) ? '{id}' : /^[0-9a-f]{40}$/i.test(segment) ? '{sha}' : segment))
    .join('/');
  return boundedToken(`${(method ?? 'GET').toUpperCase()} ${route}`);
}

/** Words that Octopus API paths are made of; any other segment (an id, a name, a version) becomes {id}. */
const octopusWords = new Set([
  'api', 'spaces', 'all', 'projects', 'environments', 'channels', 'releases', 'deployments', 'tasks', 'cancel', 'raw', 'details', 'tenants', 'machines',
  'deploymentprocesses', 'template', 'interruptions', 'events', 'lifecycles', 'variables', 'feeds', 'packages', 'progression', 'users', 'me', 'serverstatus',
]);

/** An Octopus path template (/api/{id}/projects/{id}/releases/{id}) from a request path. */
export function octopusRoute(method: string, path: string): string {
  const route = (path.split('?')[0] ?? '')
    .split('/')
    .map((segment) => (segment === '' || octopusWords.has(segment.toLowerCase()) ? segment : '{id}'))
    .join('/');
  return boundedToken(`${method.toUpperCase()} ${route}`);
}
