import { compilePhrase } from '../../../src/router/grammar.js';

const groups = (pattern: string, text: string) => {
  const m = compilePhrase(pattern).regex.exec(text);
  return m ? Object.fromEntries(Object.entries(m.groups ?? {}).filter(([, v]) => v !== undefined)) : null;
};

describe('compilePhrase', () => {
  const deploy = 'deploy <app>[/<ref>] [to <environment>]';

  test('leading literal words are the keywords', () => {
    expect(compilePhrase(deploy).keywords).toEqual(['deploy']);
    expect(compilePhrase('where can i deploy <app>').keywords).toEqual(['where', 'can', 'i', 'deploy']);
    expect(compilePhrase('create release <app> <version> [<notes...>]').slots).toEqual(['app', 'version', 'notes']);
  });

  test.each([
    ['deploy api', { app: 'api' }],
    ['deploy api/feature-x', { app: 'api', ref: 'feature-x' }],
    ['deploy api/feature/nested to stg', { app: 'api', ref: 'feature/nested', environment: 'stg' }],
    ['deploy api to production', { app: 'api', environment: 'production' }],
    ['DEPLOY api to prod', { app: 'api', environment: 'prod' }],
  ])('deploy grammar reads %s', (text, expected) => {
    expect(groups(deploy, text)).toEqual(expected);
  });

  test.each(['deploy', 'deploy api to', 'deploy api production', 'deploy api to prod now', 'deployapi'])('deploy grammar rejects %s', (text) => {
    expect(groups(deploy, text)).toBeNull();
  });

  test('a one-word slot never swallows a literal that follows it', () => {
    const lock = '<environment> [<app>] [because <reason...>]';
    expect(groups(`lock ${lock}`, 'lock production because db migration')).toEqual({ environment: 'production', reason: 'db migration' });
    expect(groups(`lock ${lock}`, 'lock production api because x y')).toEqual({ environment: 'production', app: 'api', reason: 'x y' });
    expect(groups(`lock ${lock}`, 'lock production api')).toEqual({ environment: 'production', app: 'api' });
    expect(groups(`lock ${lock}`, 'lock because x')).toBeNull();
  });

  test('rest slots take everything, including quotes and punctuation', () => {
    expect(groups('create release <app> <version> [<notes...>]', 'create release web 2.7.0 "Faster checkout!"')).toEqual({
      app: 'web',
      version: '2.7.0',
      notes: '"Faster checkout!"',
    });
  });

  test('slot values keep their case; literals match any case', () => {
    expect(groups(deploy, 'Deploy api/Feature-X TO Staging')).toEqual({ app: 'api', ref: 'Feature-X', environment: 'Staging' });
  });

  test.each(['<app> deploy', 'deploy <app', 'deploy [<app>', 'deploy <bad-name>', 'deploy <a> <a>', 'deploy ]'])('bad phrase %s is refused', (pattern) => {
    expect(() => compilePhrase(pattern)).toThrow();
  });

  test('hostile input cannot make matching slow (no catastrophic backtracking)', () => {
    const phrase = compilePhrase(`lock <environment> [<app>] [because <reason...>]`);
    const text = `lock ${'a'.repeat(20000)} ${'because '.repeat(2000)}`;
    const started = process.hrtime.bigint();
    phrase.regex.exec(text);
    // Generous bound: this guards against exponential blow-up, not speed.
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(2000);
  });
});
