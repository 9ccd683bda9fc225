/** The `ferry` executable as a user runs it: the built package, in a child process. */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createTemporaryDirectory } from '../testing/index';
import { openHandsFixtures, writeOpenHandsFolder } from '../openhands/openhands-test-support';

const bin = fileURLToPath(new URL('../../bin/ferry.js', import.meta.url));

function ferry(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('the ferry CLI', { timeout: 120_000 }, () => {
  it('imports a large OpenHands conversation and exports it back, showing progress', async () => {
    await using dir = await createTemporaryDirectory();
    const { baseState, events } = await openHandsFixtures();
    // 1,200 events: the fixture's, again and again, each with its own id.
    const many = Array.from({ length: 1200 }, (_, index) => ({
      ...events[index % events.length],
      id: randomUUID(),
    }));
    const folder = await writeOpenHandsFolder({
      root: join(dir.path, 'openhands'),
      baseState,
      events: many,
    });
    const persistenceDir = join(dir.path, 'ferry');

    const imported = await ferry([
      'openhands',
      'import',
      folder,
      '--persistence-dir',
      persistenceDir,
    ]);
    expect(imported.stderr).toContain('importing: 500/1200 events');
    expect(imported.stderr).toContain('importing: 1200/1200 events');
    expect(imported.stdout).toBe(
      `Imported conversation ${String(baseState.id)} (1200 events) into ` +
        `${join(persistenceDir, '11111111222233334444555555555555')}\n`,
    );
    expect(imported.code).toBe(0);

    const exported = await ferry([
      'openhands',
      'export',
      String(baseState.id),
      '--persistence-dir',
      persistenceDir,
      '--to',
      join(dir.path, 'back'),
      '--json',
      '--quiet',
    ]);
    expect(exported).toMatchObject({ code: 0, stderr: '' });
    const result = JSON.parse(exported.stdout) as { location: string; events: number };
    expect(result.events).toBe(1201);
    expect(await readdir(join(result.location, 'events'))).toHaveLength(1201);

    const again = await ferry(['openhands', 'import', folder, '--persistence-dir', persistenceDir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already exists');
    expect(again.stderr).toContain('CONVERSATION_EXISTS');
  });

  it('explains its commands, and refuses a wrong command line with the help', async () => {
    const help = await ferry(['openhands', 'import', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: ferry openhands import <folder> --persistence-dir <dir>');

    const main = await ferry(['--help']);
    expect(main.stdout).toContain('openhands export <id>');

    const missing = await ferry(['openhands', 'export', 'some-id', '--persistence-dir', '/tmp']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('ferry: missing --to');
    expect(missing.stderr).toContain('Usage: ferry openhands export');

    const unknown = await ferry(['openhands', 'fly']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "openhands fly"');
  });
});
