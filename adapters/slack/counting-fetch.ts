import type { FetchFunction } from '@slack/web-api';
import { slackMethod } from '../../src/metrics/labels.js';

/**
 * The WebClient's fetch, counting every HTTP request it makes (retries and 429s included) by Web
 * API method (chat.postMessage, taken from the URL) and status; 0 when no answer came. WebClient
 * has no hook of its own for every call, but takes a `fetch`.
 */
export function countingFetch(observe: (method: string, status: number) => void, inner: FetchFunction = globalThis.fetch as unknown as FetchFunction): FetchFunction {
  return async (url, init) => {
    const method = slackMethod(String(url));
    try {
      const response = await inner(url, init);
      observe(method, response.status);
      return response;
    } catch (err) {
      observe(method, 0);
      throw err;
    }
  };
}
