import { parseArgs } from 'node:util';
import { CHILD_FLAG } from './harness/child';
import { SERVICE_FLAG } from './harness/service';

// Everything else is imported on demand, so a child process loads only what its task needs and
// its peak memory is that of the task.

async function runChildTask(task: string | undefined, input: string | undefined): Promise<void> {
  const { runChildTask: run } = await import('./child-tasks');
  const result = await run(task ?? '', JSON.parse(input ?? '{}') as unknown);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === CHILD_FLAG) {
    await runChildTask(args[1], args[2]);
    return;
  }
  if (args[0] === SERVICE_FLAG) {
    const { runServiceTask } = await import('./service-tasks');
    await runServiceTask(args[1] ?? '', JSON.parse(args[2] ?? '{}') as unknown);
    return;
  }
  const { values } = parseArgs({
    // `pnpm bench -- --quick` reaches us through turbo as `-- --quick`: a bare `--` means nothing.
    args: args.filter((arg) => arg !== '--'),
    options: {
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
      only: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      'Usage: node dist/cli.js [--quick] [--out FILE] [--only resume,append,loop,teleport,server,stores,sandbox,cluster]\n' +
        '  --quick   one-minute smoke run; prints the report unless --out is given\n' +
        '  --out     where to write the report (default: BENCHMARKS.md at the repository root)\n' +
        '  --only    run some benchmarks only\n',
    );
    return;
  }
  const { runBenchmarks, suiteNames } = await import('./main');
  const only = values.only?.split(',').map((name) => name.trim());
  for (const name of only ?? []) {
    if (!(suiteNames as readonly string[]).includes(name)) {
      throw new Error(`--only: unknown benchmark "${name}"; choose from ${suiteNames.join(', ')}`);
    }
  }
  await runBenchmarks({
    quick: values.quick,
    ...(values.out === undefined ? {} : { out: values.out }),
    ...(only === undefined ? {} : { only: only as (typeof suiteNames)[number][] }),
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
