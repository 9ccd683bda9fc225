/**
 * What a new user does: pack the published packages, install the tarballs with plain npm into a
 * fresh project, and run the examples of the package READMEs unchanged. Every runnable example
 * is type-checked with `tsc --strict` (module nodenext, target esnext, so syntax Node cannot run
 * is not rewritten away) and run with this Node (20 in CI) to exit 0 with nothing on stderr.
 * The examples use the scripted LLM of `@ferry/sdk-core/testing`: no key, no network.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packPublishedPackages, publishedPackages } from './support/published-packages';
import { EXAMPLE_KINDS, readmeExamples } from './support/readme-examples';

const packages = publishedPackages();
const examples = packages.flatMap(readmeExamples);
const runnable = examples.filter((example) => example.kind === 'runnable');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
/** Past this an example counts as hung (a handle kept the process alive) and is killed. */
const HANG_LIMIT_MS = 120_000;

interface Outcome {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment of a user's shell: without the `npm_*` variables that pnpm sets for the
 * scripts it runs (npm would warn about pnpm's own settings, such as verify-deps-before-run).
 */
function userEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')),
  );
}

function runNode(args: string[], cwd: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd,
      env: userEnvironment(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    const hang = setTimeout(() => child.kill('SIGKILL'), HANG_LIMIT_MS);
    child.once('close', (code, signal) => {
      clearTimeout(hang);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

describe('a fresh npm project using the packed packages', () => {
  let workDir: string;
  let project: string;
  let install: { status: number | null; stdout: string; stderr: string };
  let typecheck: { status: number | null; output: string };

  beforeAll(() => {
    workDir = mkdtempSync(join(tmpdir(), 'ferry-consumer-'));
    project = join(workDir, 'project');
    const tarballs = join(workDir, 'tarballs');
    mkdirSync(tarballs);
    mkdirSync(join(project, 'examples'), { recursive: true });
    const files = packPublishedPackages(tarballs);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
    const npm = spawnSync('npm', ['install', '--no-audit', '--no-fund', ...files], {
      cwd: project,
      encoding: 'utf8',
      env: userEnvironment(),
    });
    install = { status: npm.status, stdout: npm.stdout, stderr: npm.stderr };

    for (const example of runnable) {
      const extension = ['js', 'javascript', 'mjs'].includes(example.language) ? 'js' : 'ts';
      writeFileSync(join(project, 'examples', `${example.name}.${extension}`), example.code);
    }
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'nodenext',
          target: 'esnext',
          allowJs: true,
          checkJs: true,
          rootDir: 'examples',
          outDir: 'out',
        },
        include: ['examples'],
      }),
    );
    // The project has no typescript of its own: the repository's compiler checks it, reading
    // types only from the project's node_modules.
    const compiled = spawnSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8' });
    typecheck = { status: compiled.status, output: compiled.stdout + compiled.stderr };
  }, 900_000);

  afterAll(() => {
    rmSync(workDir, { recursive: true, force: true });
  });

  it('finds the published packages and their README examples', () => {
    expect(packages.map(({ name }) => name)).toEqual(
      expect.arrayContaining([
        '@ferry/sdk-core',
        '@ferry/workspace-local',
        '@ferry/workspace-remote',
        '@ferry/server',
      ]),
    );
    expect(runnable.length).toBeGreaterThanOrEqual(packages.length);
  });

  it('installs with npm with no warning, so no EBADENGINE on Node 20', () => {
    expect(install.status, install.stderr).toBe(0);
    expect(install.stderr).not.toContain('EBADENGINE');
    expect(install.stderr.split('\n').filter((line) => /^npm warn/i.test(line))).toEqual([]);
  });

  it('imports @ferry/sdk-core/testing without vitest installed', async () => {
    expect(existsSync(join(project, 'node_modules', 'vitest'))).toBe(false);
    const script =
      "const kit = await import('@ferry/sdk-core/testing');" +
      'console.log(Object.keys(kit).sort().join(" "));';
    const outcome = await runNode(['--input-type=module', '-e', script], project);
    expect(outcome.stderr).toBe('');
    expect(outcome.stdout).toContain('createTemporaryDirectory');
    expect(outcome.stdout).toContain('startScriptedLLMServer');
  });

  it('keeps what needs vitest in @ferry/sdk-core/testing/conformance', async () => {
    const outcome = await runNode(
      ['--input-type=module', '-e', "await import('@ferry/sdk-core/testing/conformance');"],
      project,
    );
    expect(outcome.code).not.toBe(0);
    expect(outcome.stderr).toMatch(/Cannot find package 'vitest'/);
  });

  it('labels every TypeScript/JavaScript README example runnable or snippet', () => {
    const unlabelled = examples
      .filter((example) => !(EXAMPLE_KINDS as readonly string[]).includes(example.kind))
      .map((example) => `${example.source} (\`\`\`${example.language} ${example.kind})`);
    expect(unlabelled).toEqual([]);
  });

  it('type-checks every runnable example with tsc --strict', () => {
    expect(typecheck.output).toBe('');
    expect(typecheck.status).toBe(0);
  });

  it.each(runnable.map((example) => [example.name, example] as const))(
    'runs the README example %s on Node to exit 0',
    async (_name, example) => {
      const cwd = join(workDir, `run-${example.name}`);
      mkdirSync(cwd);
      const outcome = await runNode([join(project, 'out', `${example.name}.js`)], cwd);
      expect(
        { code: outcome.code, signal: outcome.signal, stderr: outcome.stderr },
        `${example.source}\n${outcome.stdout}`,
      ).toEqual({ code: 0, signal: null, stderr: '' });
    },
    HANG_LIMIT_MS + 30_000,
  );
});
