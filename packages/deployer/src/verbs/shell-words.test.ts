import { ShellWordsError, splitShellWords } from './shell-words.js';

describe('splitShellWords', () => {
  it('splits on blanks and keeps quoted text whole, expanding nothing', () => {
    expect(splitShellWords('config set  my-app KEY=plain')).toEqual(['config', 'set', 'my-app', 'KEY=plain']);
    expect(splitShellWords(`config set app 'KEY=a b $HOME "q"' B="x \\"y\\" \\$z \\\\ \\n"`)).toEqual([
      'config',
      'set',
      'app',
      'KEY=a b $HOME "q"',
      'B=x "y" $z \\ \\n',
    ]);
    expect(splitShellWords("a\\ b c\\'d $(id) `id` ; | *")).toEqual(['a b', "c'd", '$(id)', '`id`', ';', '|', '*']);
    expect(splitShellWords("'' x")).toEqual(['', 'x']);
    expect(splitShellWords('   ')).toEqual([]);
  });

  it('refuses open quotes and a trailing backslash', () => {
    expect(() => splitShellWords("config set app 'KEY=open")).toThrow(ShellWordsError);
    expect(() => splitShellWords('config set app "KEY=open')).toThrow('double quote is not closed');
    expect(() => splitShellWords('apps \\')).toThrow('ends in a backslash');
  });
});
