/**
 * A first run of the README's commands on a fresh machine: the root scripts run turbo through
 * scripts/turbo.mjs, so nobody sees turbo's telemetry notice and the quiet build says what it
 * is doing while it prints nothing else.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repositoryRoot } from './support/published-packages';

describe('first run', () => {
  it('runs every root script that uses turbo through scripts/turbo.mjs', () => {
    const { scripts } = JSON.parse(readFileSync(join(repositoryRoot, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const turboScripts = Object.entries(scripts).filter(([, command]) => /\bturbo\b/.test(command));
    expect(turboScripts.map(([name]) => name)).toEqual(
      expect.arrayContaining(['build', 'test', 'demo']),
    );
    for (const [name, command] of turboScripts) {
      expect(command.replaceAll('node scripts/turbo.mjs', ''), name).not.toMatch(/\bturbo\b/);
    }
  });

  it('checks the system packages the tests use before testing, as .ci/run does', () => {
    const { scripts } = JSON.parse(readFileSync(join(repositoryRoot, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    for (const name of ['test', 'test:reliability']) {
      expect(scripts[name], name).toMatch(/^node scripts\/system-packages\.mjs && /);
    }
    expect(readFileSync(join(repositoryRoot, '.ci/run'), 'utf8')).toContain(
      'node scripts/system-packages.mjs',
    );
    // Here they are all installed (the test command put them there): the check passes quietly.
    const check = spawnSync(process.execPath, ['scripts/system-packages.mjs', '--check'], {
      cwd: repositoryRoot,
      encoding: 'utf8',
    });
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  it('builds without the telemetry notice, saying what it does, for a user turbo never saw', () => {
    // A home folder turbo has never written to: the notice would show here first.
    const home = mkdtempSync(join(tmpdir(), 'ferry-home-'));
    try {
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        HOME: home,
        XDG_CONFIG_HOME: join(home, '.config'),
      };
      delete env.TURBO_TELEMETRY_DISABLED;
      delete env.DO_NOT_TRACK;
      const run = spawnSync(
        process.execPath,
        [
          'scripts/turbo.mjs',
          'run',
          'build',
          '--filter=@ferry/sdk-core',
          '--output-logs=errors-only',
        ],
        { cwd: repositoryRoot, env, encoding: 'utf8' },
      );
      const output = run.stdout + run.stderr;
      expect(run.status, output).toBe(0);
      expect(output).not.toMatch(/telemetry/i);
      expect(output).toMatch(/^Building the Ferry packages \(turbo; about 90 seconds/m);
      expect(output).toMatch(/^Packages built in \d+ s\.$/m);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
