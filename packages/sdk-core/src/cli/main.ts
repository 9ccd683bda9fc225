import { runFerryCli } from './ferry-cli';

// The `ferry` executable: arguments in, exit code out.
process.exitCode = await runFerryCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
});
