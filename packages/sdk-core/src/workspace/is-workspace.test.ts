import { describe, expect, it } from 'vitest';
import { isWorkspace } from './is-workspace';

const method = () => Promise.resolve();

describe('isWorkspace', () => {
  it('accepts an object with the Workspace methods, inherited ones included', () => {
    class Fake {
      readonly kind = 'LocalWorkspace';
      readonly workingDir = '/w';
      readonly capabilities = { shellSessions: true, shellInput: true, symlinks: true, git: true };
      executeCommand = method;
      openShell = method;
      readFile = method;
      writeFile = method;
      listFiles = method;
      stat = method;
      exists = method;
    }
    expect(isWorkspace(new Fake())).toBe(true);
    expect(isWorkspace(Object.create(new Fake()))).toBe(true);
  });

  it('refuses a workspace description and other values', () => {
    expect(isWorkspace({ kind: 'LocalWorkspace', workingDir: '/w' })).toBe(false);
    expect(isWorkspace({ kind: 'LocalWorkspace', working_dir: '/w' })).toBe(false);
    expect(isWorkspace(null)).toBe(false);
    expect(isWorkspace('LocalWorkspace')).toBe(false);
  });
});
