/** A command line whose quotes do not close. */
export class ShellWordsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShellWordsError';
  }
}

/**
 * Splits a command line into words as a POSIX shell would, without expanding anything: blanks separate words,
 * `'…'` keeps everything literally, `"…"` keeps everything but `\"`, `\\`, `\$` and `` \` `` (backslash escapes),
 * and an unquoted backslash keeps the next character. `$`, `*`, `~`, `;`, `|` are ordinary characters. This is how
 * an SSH command such as `config set app 'KEY=a b'` reaches the verbs. Pure.
 * @throws ShellWordsError when a quote is left open or the line ends in a backslash.
 */
export function splitShellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let index = 0;
  const append = (text: string): void => {
    word = (word ?? '') + text;
  };
  while (index < line.length) {
    const char = line.charAt(index);
    if (char === ' ' || char === '\t' || char === '\n') {
      if (word !== undefined) words.push(word);
      word = undefined;
      index += 1;
    } else if (char === "'") {
      const end = line.indexOf("'", index + 1);
      if (end < 0) throw new ShellWordsError('a single quote is not closed');
      append(line.slice(index + 1, end));
      index = end + 1;
    } else if (char === '"') {
      index += 1;
      let text = '';
      for (;;) {
        if (index >= line.length) throw new ShellWordsError('a double quote is not closed');
        const inner = line.charAt(index);
        if (inner === '"') break;
        if (inner === '\\' && '"\\$`'.includes(line.charAt(index + 1)) && index + 1 < line.length) {
          text += line.charAt(index + 1);
          index += 2;
        } else {
          text += inner;
          index += 1;
        }
      }
      append(text);
      index += 1;
    } else if (char === '\\') {
      if (index + 1 >= line.length) throw new ShellWordsError('the command ends in a backslash');
      append(line.charAt(index + 1));
      index += 2;
    } else {
      append(char);
      index += 1;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}
