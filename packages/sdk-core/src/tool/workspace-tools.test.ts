import { describe, expect, it } from 'vitest';
import { InMemoryFileStore } from '../persistence/in-memory-file-store';
import { createDefaultToolRegistry } from './builtin-tools';
import { fileEditorTool } from './file-editor-tool';
import { observationFilePath, terminalTool } from './terminal-tool';
import type { ToolContext } from './tool-definition';

const context: ToolContext = {
  conversationId: 'c0ffee00-0000-4000-8000-000000000000',
  workspace: { kind: 'LocalWorkspace', workingDir: '/project' },
  store: new InMemoryFileStore(),
  signal: new AbortController().signal,
  toolCallId: 'call_1',
  maskSecrets: (text) => text,
};

describe('terminal and file_editor without a full workspace', () => {
  it('are built in, so agents reference them by name', () => {
    expect(createDefaultToolRegistry().names).toEqual(
      expect.arrayContaining(['terminal', 'file_editor']),
    );
  });

  it('answer with an error result that says what is missing', async () => {
    const terminal = await terminalTool.execute(
      { command: 'ls', is_input: false, reset: false },
      context,
    );
    expect(terminal.isError).toBe(true);
    expect(terminal.content).toMatch(/terminal tool needs a full Workspace such as LocalWorkspace/);

    const editor = await fileEditorTool.execute({ command: 'view', path: 'a.txt' }, context);
    expect(editor.isError).toBe(true);
    expect(editor.content).toMatch(
      /file_editor tool needs a full Workspace such as LocalWorkspace/,
    );
  });
});

describe('observationFilePath', () => {
  it('puts the full output under observations/, named after the tool call', () => {
    expect(observationFilePath('call_1')).toBe('observations/call_1.txt');
    expect(observationFilePath('toolu_01A-b.c')).toBe('observations/toolu_01A-b.c.txt');
  });

  it('keeps any tool call id inside observations/', () => {
    expect(observationFilePath('../../etc/passwd')).toBe('observations/.._.._etc_passwd.txt');
    expect(observationFilePath('')).toBe('observations/tool_call.txt');
  });
});
