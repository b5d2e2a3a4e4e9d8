/**
 * A browser's worth of HTTP for console tests without a browser: a cookie jar, no automatic
 * redirects (tests look at each 303), and the CSRF token of the last page read.
 */
export class ConsoleClient {
  readonly cookies = new Map<string, string>();
  lastPage = '';

  constructor(readonly base: string) {}

  private cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private remember(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      const expired = /max-age=0/i.test(line) || /expires=Thu, 01 Jan 1970/i.test(line);
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async get(path: string): Promise<{ status: number; text: string; location: string | null; headers: Headers }> {
    const response = await fetch(`${this.base}${path}`, { redirect: 'manual', headers: { cookie: this.cookieHeader() } });
    this.remember(response);
    const text = await response.text();
    this.lastPage = text;
    return { status: response.status, text, location: response.headers.get('location'), headers: response.headers };
  }

  /** Posts a form; `_csrf` is taken from the last page read unless the fields give one (or null: none). */
  async post(path: string, fields: Record<string, string> = {}, options: { csrf?: string | null; contentType?: string; body?: string } = {}): Promise<{ status: number; text: string; location: string | null; headers: Headers }> {
    const csrf = options.csrf === undefined ? this.csrf() : options.csrf;
    const form = new URLSearchParams({ ...(csrf ? { _csrf: csrf } : {}), ...fields });
    const response = await fetch(`${this.base}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: this.cookieHeader(), 'content-type': options.contentType ?? 'application/x-www-form-urlencoded' },
      body: options.body ?? form.toString(),
    });
    this.remember(response);
    const text = await response.text();
    return { status: response.status, text, location: response.headers.get('location'), headers: response.headers };
  }

  /** The CSRF token in the last page's forms. */
  csrf(): string {
    return /name="_csrf" value="([^"]+)"/.exec(this.lastPage)?.[1] ?? '';
  }

  /** Signs in with an operator token (reading the sign-in page first, as a browser would). */
  async signIn(token: string): Promise<void> {
    await this.get('/console/sign-in');
    const result = await this.post('/console/sign-in', { token });
    if (result.status !== 303) throw new Error(`sign-in answered ${result.status}: ${result.text.slice(0, 300)}`);
  }
}
