import { existsSync } from 'node:fs';
import { DotenvError, parseDotenv } from './dotenv.js';

function failure(text: string, base: Record<string, string> = {}): DotenvError {
  try {
    parseDotenv(text, base);
  } catch (error) {
    if (error instanceof DotenvError) return error;
    throw error;
  }
  throw new Error('expected a DotenvError');
}

describe('parseDotenv: the forms it reads', () => {
  it('reads entries, comments, blank lines, export and spacing, in file order', () => {
    const text = [
      '\uFEFF# a comment',
      '',
      '   ',
      '  # an indented comment',
      'PLAIN=value',
      'export EXPORTED=yes',
      'SPACED = around equals ',
      'COLON: yaml style',
      'EMPTY=',
      'EMPTY_WITH_COMMENT= # nothing here',
      'TRAILING=kept # the comment goes',
      'lower_case_9=fine',
      '',
    ].join('\r\n');
    const entries = parseDotenv(text, {});
    expect(entries).toEqual({
      PLAIN: 'value',
      EXPORTED: 'yes',
      SPACED: 'around equals',
      COLON: 'yaml style',
      EMPTY: '',
      EMPTY_WITH_COMMENT: '',
      TRAILING: 'kept',
      lower_case_9: 'fine',
    });
    expect(Object.keys(entries)).toEqual([
      'PLAIN',
      'EXPORTED',
      'SPACED',
      'COLON',
      'EMPTY',
      'EMPTY_WITH_COMMENT',
      'TRAILING',
      'lower_case_9',
    ]);
  });

  it('reads quoted values as dotenv does: multi-line, \\n in double quotes, other backslashes as written', () => {
    const text = [
      'DOUBLE="a # not a comment" # a comment',
      "SINGLE='single # too'",
      'BACKTICK=`has "both" \'quotes\'`',
      'NEWLINE="one\\ntwo"',
      "RAW='one\\ntwo'",
      'ESCAPED="say \\"hi\\""',
      'MULTI="line one',
      '',
      'line three"',
      'INDENTED=   "spaced"',
      'NEXT=after',
    ].join('\n');
    expect(parseDotenv(text, {})).toEqual({
      DOUBLE: 'a # not a comment',
      SINGLE: 'single # too',
      BACKTICK: 'has "both" \'quotes\'',
      NEWLINE: 'one\ntwo',
      RAW: 'one\\ntwo',
      ESCAPED: 'say \\"hi\\"',
      MULTI: 'line one\n\nline three',
      INDENTED: 'spaced',
      NEXT: 'after',
    });
  });

  it('keeps the later value of a name set twice, and lines below see the value set above them', () => {
    expect(parseDotenv('A=1\nB=$A\nA=2\nC=$A\n', {})).toEqual({ A: '2', B: '1', C: '2' });
  });
});

describe('parseDotenv: expansion, as data', () => {
  it('expands against the platform variables, then the lines above, with Compose defaults', () => {
    const text = [
      'DOMAIN=${ROOT_DOMAIN}',
      'API=api.$DOMAIN',
      'URL="https://${API}/v1"',
      'MODE=${MODE:-production}',
      'LATER=${DEFINED_BELOW:-unset so far}',
      'DEFINED_BELOW=now',
      'PATH=$PATH:/app/bin',
      '',
    ].join('\n');
    expect(parseDotenv(text, { ROOT_DOMAIN: 'example.test', PATH: '/usr/bin:/bin' })).toEqual({
      DOMAIN: 'example.test',
      API: 'api.example.test',
      URL: 'https://api.example.test/v1',
      MODE: 'production',
      LATER: 'unset so far',
      DEFINED_BELOW: 'now',
      PATH: '/usr/bin:/bin:/app/bin',
    });
  });

  it('keeps single-quoted and backtick values literal, and $$ is a literal $ elsewhere', () => {
    const text = "LITERAL='${ROOT_DOMAIN} $HOME'\nTICKS=`$ROOT_DOMAIN`\nPRICE=$$5\nSTRAY=cost $5, $-1 or $\n";
    expect(parseDotenv(text, { ROOT_DOMAIN: 'example.test' })).toEqual({
      LITERAL: '${ROOT_DOMAIN} $HOME',
      TICKS: '$ROOT_DOMAIN',
      PRICE: '$5',
      STRAY: 'cost $5, $-1 or $',
    });
  });

  it('executes nothing: command substitutions and backticks stay text', () => {
    const marker = `/tmp/swarmlet-dotenv-${process.pid}`;
    const text = `SUBSHELL=$(touch ${marker})\nTICKS=\`touch ${marker}\`\nQUOTED="$(touch ${marker}) \`id\`"\n`;
    expect(parseDotenv(text, {})).toEqual({
      SUBSHELL: `$(touch ${marker})`,
      TICKS: `touch ${marker}`,
      QUOTED: `$(touch ${marker}) \`id\``,
    });
    expect(existsSync(marker)).toBe(false);
  });
});

describe('parseDotenv: errors name the file and line', () => {
  it.each([
    ['A=1\nthis is not an entry\n', 2, 'expected NAME=value'],
    ['A=1\nexport B\n', 2, 'expected NAME=value'],
    ['\n\nA:\n', 3, 'expected NAME=value'],
    ['=value\n', 1, 'expected NAME=value'],
    ['1ABC=x\n', 1, '1ABC is not a variable name: use letters, digits and _, not a digit first'],
    ['my.var=x\n', 1, 'my.var is not a variable name'],
    ['A=1\nB="open\nC=3\n', 2, 'the " quote opened here is never closed'],
    ["A='open\n", 1, "the ' quote opened here is never closed"],
    ['A="one\ntwo" junk\n', 2, 'unexpected text after the closing " quote'],
    ['PASSWORD=pa#ss\n', 1, 'PASSWORD: quote a value that holds "#": unquoted, "#" starts a comment'],
    ['PASSWORD=#secret\n', 1, 'PASSWORD: quote a value that holds "#"'],
    ['A=ok\nKEY=${API_KEY:?set API_KEY}\n', 2, 'KEY: API_KEY: set API_KEY'],
    ['KEY=${API_KEY?}\n', 1, 'KEY: required variable API_KEY is not set'],
    ['A=1\nNUL=a\0b\n', 2, 'NUL: a value cannot hold a NUL byte'],
    ['KEY="${unterminated"\n', 1, 'KEY: invalid interpolation format in "${unterminated"'],
  ])('%j: line %d', (text, line, detail) => {
    const error = failure(text);
    expect(error.file).toBe('.env');
    expect(error.line).toBe(line);
    expect(error.message).toContain(`.env line ${line}: ${detail}`);
  });

  it('names the file it is given', () => {
    expect(() => parseDotenv('oops\n', {}, 'config/app.env')).toThrow('config/app.env line 1: expected NAME=value');
  });
});
