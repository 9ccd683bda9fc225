/** Single-quotes `text` for bash, so it reaches the command as one literal word. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `export NAME='value'` lines for `env`; refuses names bash cannot export. */
export function exportLines(env: Readonly<Record<string, string>>): string {
  return Object.entries(env)
    .map(([name, value]) => {
      if (!NAME.test(name)) {
        throw new TypeError(
          `Environment variable name "${name}" is not valid: use letters, digits and _ only, not starting with a digit.`,
        );
      }
      return `export ${name}=${shellQuote(value)}\n`;
    })
    .join('');
}
