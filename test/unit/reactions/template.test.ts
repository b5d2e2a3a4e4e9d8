import { createTemplateEngine, renderJsonBody, TemplateError } from '../../../src/reactions/template.js';

const data = {
  app: 'web',
  deployment: { id: 42, environment: 'production', ref: 'main', ok: true, tags: ['a', 'b'] },
  payload: { items: [{ name: 'first' }, { name: 'second' }], title: 'fix: a & b / c' },
};

describe('template engine', () => {
  const engine = createTemplateEngine();

  describe('render', () => {
    it('substitutes variables and nested paths', () => {
      expect(engine.render('{{ app }} #{{ deployment.id }} to {{ deployment.environment }}', data)).toBe('web #42 to production');
      expect(engine.render('{{ payload.items[1].name }} {{ payload.items.first.name }} {{ deployment.tags.size }}', data)).toBe(
        'second first 2',
      );
    });

    it('returns plain text unchanged', () => {
      expect(engine.render('no templates here', data)).toBe('no templates here');
    });

    it('renders missing variables as an empty string', () => {
      expect(engine.render('[{{ nope }}][{{ deployment.nope.deeper }}]', data)).toBe('[][]');
    });

    it('supports tags and built-in filters', () => {
      expect(engine.render('{% if deployment.ok %}{{ app | upcase }}{% else %}no{% endif %}', data)).toBe('WEB');
      expect(engine.render('{% for t in deployment.tags %}{{ t }};{% endfor %}', data)).toBe('a;b;');
      expect(engine.render('{{ nope | default: "n/a" }}', data)).toBe('n/a');
    });

    it('has json and urlencode filters', () => {
      expect(engine.render('{{ deployment.tags | json }}', data)).toBe('["a","b"]');
      expect(engine.render('{{ payload.title | urlencode }}', data)).toBe('fix%3A%20a%20%26%20b%20%2F%20c');
      // liquid's own url_encode is form encoding, kept as is
      expect(engine.render('{{ "a b" | url_encode }}', data)).toBe('a+b');
    });

    it('throws a TemplateError on a syntax error', () => {
      expect(() => engine.render('{{ app ', data)).toThrow(TemplateError);
    });
  });

  describe('renderDeep', () => {
    it('renders every string in objects and arrays, leaving keys and other values alone', () => {
      const input = {
        '{{ app }}': 'app={{ app }}',
        list: ['{{ deployment.environment }}', 3, null],
        nested: { flag: false, n: 1.5, text: '{{ deployment.ref }}' },
      };
      expect(engine.renderDeep(input, data)).toEqual({
        '{{ app }}': 'app=web',
        list: ['production', 3, null],
        nested: { flag: false, n: 1.5, text: 'main' },
      });
      expect(input.nested.text).toBe('{{ deployment.ref }}');
    });

    it('renders a top-level string', () => {
      expect(engine.renderDeep('{{ app }}', data)).toBe('web');
    });
  });

  describe('renderJsonBody', () => {
    it('keeps non-string values and types; a single expression stays a string', () => {
      const body = { id: '{{ deployment.id }}', count: 3, enabled: true, nothing: null, text: 'ref {{ deployment.ref }}' };
      expect(renderJsonBody(engine, body, data)).toEqual({ id: '42', count: 3, enabled: true, nothing: null, text: 'ref main' });
    });

    it('keeps payload quotes inside their JSON string', () => {
      const hostile = { ...data, app: '", "admin": true, "x": "' };
      const body = renderJsonBody(engine, { name: '{{ app }}' }, hostile);
      expect(JSON.parse(JSON.stringify(body))).toEqual({ name: '", "admin": true, "x": "' });
    });
  });

  describe('check', () => {
    it('returns null for a valid template', () => {
      expect(engine.check('{{ app | upcase }} {% if x %}y{% endif %}')).toBeNull();
    });

    it('describes syntax errors on one line', () => {
      for (const bad of ['{{ app ', '{% if x %}unclosed', '{% for x in %}{% endfor %}', '{% bogus %}']) {
        const message = engine.check(bad);
        expect(message).toEqual(expect.any(String));
        expect(message).not.toContain('\n');
      }
    });

    it('reports an unknown filter', () => {
      expect(engine.check('{{ app | shout }}')).toMatch(/undefined filter: shout/);
    });

    it('passes plain text without the engine, but still refuses plain text over the parse limit (1,000,000 characters)', () => {
      expect(engine.check('deployed, no braces: } %} }}')).toBeNull();
      expect(engine.check('x'.repeat(1_000_000))).toBeNull();
      expect(engine.check('x'.repeat(1_000_001))).toMatch(/parse length limit exceeded/);
    });
  });

  describe('hostile input', () => {
    it('prints template syntax found in the data literally', () => {
      const evil = { comment: '{{ secret.TOKEN }} {% for i in (1..100000000) %}x{% endfor %} {% include "/etc/passwd" %}' };
      expect(engine.render('said: {{ comment }}', evil)).toBe(`said: ${evil.comment}`);
      expect(engine.renderDeep({ text: '{{ comment }}' }, evil)).toEqual({ text: evil.comment });
    });

    it('never resolves prototype properties', () => {
      const paths = [
        'constructor',
        'deployment.__proto__',
        'app.constructor.name',
        'deployment.constructor.name',
        'deployment.toString',
        '__proto__.polluted',
        'payload.items.map',
      ];
      for (const path of paths) expect(engine.render(`[{{ ${path} }}]`, data)).toBe('[]');
    });

    it('does not see inherited properties of the data either', () => {
      const inherited = Object.create({ hidden: 'inherited' }) as Record<string, unknown>;
      expect(engine.render('[{{ x.hidden }}]', { x: inherited })).toBe('[]');
    });

    it.each(['include', 'render', 'layout'])('refuses {%% %s %%} of a file', (tag) => {
      const template = `{% ${tag} "/etc/passwd" %}`;
      expect(engine.check(template)).toMatch(/cannot read files/);
      expect(() => engine.render(template, data)).toThrow(/cannot read files/);
      expect(() => engine.render(`{% liquid\n${tag} "/etc/passwd"\n%}`, data)).toThrow(/cannot read files/);
    });

    it('refuses a loop bomb quickly', () => {
      const started = Date.now();
      expect(() => engine.render('{% for i in (1..100000000) %}x{% endfor %}', data)).toThrow(/limit exceeded/);
      expect(Date.now() - started).toBeLessThan(1000);
    });

    it('stops nested loops with small ranges by time', () => {
      const quick = createTemplateEngine({ maxRenderMs: 100 });
      const started = Date.now();
      expect(() => quick.render('{% for a in (1..3000) %}{% for b in (1..3000) %}{% endfor %}{% endfor %}', data)).toThrow(
        /render limit exceeded/,
      );
      expect(Date.now() - started).toBeLessThan(2000);
    });

    it('stops a doubling string by the memory limit', () => {
      const template = '{% assign s = "xx" %}{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}{{ s.size }}';
      expect(() => engine.render(template, data)).toThrow(/memory alloc limit exceeded/);
    });

    it('caps the output while rendering', () => {
      const engine1k = createTemplateEngine({ maxOutputChars: 1000 });
      expect(engine1k.render('{% for i in (1..10) %}0123456789{% endfor %}', data)).toHaveLength(100);
      expect(() => engine1k.render('{% for i in (1..1000000) %}0123456789{% endfor %}', data)).toThrow(
        /output is longer than 1000 characters/,
      );
    });

    it('refuses a 5 MB payload value with a clear error instead of printing it', () => {
      const huge = { body: 'x'.repeat(5 * 1024 * 1024) };
      const started = Date.now();
      expect(() => engine.render('{{ body }}', huge)).toThrow(/output is longer than 100000 characters/);
      expect(() => engine.render('{% for i in (1..1000) %}{{ body }}{% endfor %}', huge)).toThrow(/output is longer/);
      expect(Date.now() - started).toBeLessThan(2000);
      // filters can still reduce it to something small
      expect(engine.render('{{ body | size }} {{ body | truncate: 13 }}', huge)).toBe('5242880 xxxxxxxxxx...');
    });

    it('caps plain text too', () => {
      expect(() => createTemplateEngine({ maxOutputChars: 5 }).render('123456', data)).toThrow(/longer than 5/);
    });
  });
});
