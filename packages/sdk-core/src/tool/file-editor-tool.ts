import { posix } from 'node:path';
import { z } from 'zod';
import { FerryError } from '../errors/ferry-error';
import { isWorkspace } from '../workspace/is-workspace';
import type { Workspace } from '../workspace/workspace';
import { decodeText } from './decode-text';
import {
  DEFAULT_FILE_HISTORY_DEPTH,
  dropLastFileVersion,
  lastFileVersion,
  pushFileVersion,
} from './file-edit-history';
import {
  findOccurrences,
  lineNumberAt,
  numberLines,
  occurrenceLines,
  splitLines,
} from './text-lines';
import { defineTool } from './tool-definition';
import type { ToolContext, ToolResult } from './tool-definition';
import { missingWorkspaceResult } from './tool-workspace';

/** Files larger than this (in bytes) are not viewed whole nor edited, by default: 5 MiB. */
export const DEFAULT_FILE_EDITOR_MAX_FILE_BYTES = 5 * 1024 * 1024;

/** Characters of a view the LLM sees by default; a longer one is clipped at a line end. */
export const DEFAULT_FILE_EDITOR_MAX_OUTPUT_CHARS = 30_000;

/** Lines shown around an edit. */
const SNIPPET_CONTEXT_LINES = 4;

/** `old_content` and `new_content` are left out of the observation above this many characters. */
const MAX_CONTENT_FIELD_CHARS = 100_000;

/** Options of {@link createFileEditorTool}. */
export interface FileEditorToolOptions {
  /**
   * Bytes above which a file is refused by `view` without `view_range` and by the edit
   * commands (default {@link DEFAULT_FILE_EDITOR_MAX_FILE_BYTES}).
   */
  maxFileBytes?: number;
  /** Characters of output the LLM sees (default {@link DEFAULT_FILE_EDITOR_MAX_OUTPUT_CHARS}). */
  maxOutputChars?: number;
  /** Versions per file that `undo_edit` can restore (default {@link DEFAULT_FILE_HISTORY_DEPTH}). */
  historyDepth?: number;
}

export const fileEditorCommandSchema = z.enum([
  'view',
  'create',
  'str_replace',
  'insert',
  'undo_edit',
]);
export type FileEditorCommand = z.infer<typeof fileEditorCommandSchema>;

/** The arguments of the `file_editor` tool (OpenHands' `FileEditorAction`). */
export const fileEditorParametersSchema = z.object({
  command: fileEditorCommandSchema.describe(
    'The command to run: `view`, `create`, `str_replace`, `insert` or `undo_edit`.',
  ),
  path: z
    .string()
    .min(1)
    .describe('Path of the file or directory: absolute, or relative to the working directory.'),
  file_text: z.string().optional().describe('For `create`: the content of the new file.'),
  old_str: z
    .string()
    .optional()
    .describe('For `str_replace`: the exact text to replace; it must occur exactly once.'),
  new_str: z
    .string()
    .optional()
    .describe(
      'For `str_replace`: the replacement (empty when absent). For `insert`: the lines to insert.',
    ),
  insert_line: z
    .number()
    .int()
    .nonnegative()
    .optional()
    .describe('For `insert`: `new_str` goes AFTER this line (0 inserts at the top).'),
  view_range: z
    .array(z.number().int())
    .optional()
    .describe(
      'For `view` of a file: `[start, end]` lines to show, from 1; `[start, -1]` shows from ' +
        '`start` to the end. The whole file when absent.',
    ),
});
export type FileEditorParameters = z.infer<typeof fileEditorParametersSchema>;

const DESCRIPTION = `Views, creates and edits plain-text files.

* \`view\`: a file is shown with line numbers, as \`cat -n\` prints it (\`view_range\` picks lines); a directory lists its files and directories two levels deep, hidden ones excluded.
* \`create\`: writes a new file with \`file_text\`; it never overwrites an existing file.
* \`str_replace\`: replaces \`old_str\` with \`new_str\`. \`old_str\` must match EXACTLY (whitespace and indentation included) and occur exactly once: include enough surrounding lines to make it unique.
* \`insert\`: inserts \`new_str\` as whole lines after line \`insert_line\` (0 for the top).
* \`undo_edit\`: restores the file as it was before its last edit.
* Paths are absolute or relative to the working directory. Binary files and files too large to show are refused; long views are clipped.
* View a file before editing it, and check the snippet each edit returns.`;

/** A refusal the LLM can act on; becomes an error observation. */
function refuse(message: string): never {
  throw new FerryError('FILE_EDITOR_REFUSED', message);
}

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Cuts `text` at the last line end within `maxChars` and appends `notice`. */
function clip(text: string, maxChars: number, notice: string): string {
  if (text.length <= maxChars) return text;
  const cut = text.lastIndexOf('\n', maxChars);
  return `${text.slice(0, cut > 0 ? cut : maxChars)}\n${notice}`;
}

const FILE_CLIPPED =
  '<response clipped><NOTE>Only part of this file was shown, to keep the output short. View ' +
  'other lines with view_range, or find the line numbers you need with `grep -n` in the ' +
  'terminal.</NOTE>';
const DIRECTORY_CLIPPED =
  '<response clipped><NOTE>The listing was too long to show whole. View a subdirectory, or ' +
  'use `ls` or `find` in the terminal.</NOTE>';

/** The line ending a text uses: `\r\n` when it has any, else `\n`. */
function lineEnding(text: string): string {
  return text.includes('\r\n') ? '\r\n' : '\n';
}

/** What one call works on. */
interface EditorCall {
  workspace: Workspace;
  context: ToolContext;
  /** The path as the LLM gave it; the workspace resolves and confines it. */
  path: string;
  /** The absolute, normalised path: shown in messages and the key of the undo history. */
  absolutePath: string;
  maxFileBytes: number;
  maxOutputChars: number;
  historyDepth: number;
}

/** The outcome of a command that succeeded. */
interface Outcome {
  content: string;
  prevExist: boolean;
  oldContent?: string | undefined;
  newContent?: string | undefined;
}

async function requireExisting(call: EditorCall): Promise<void> {
  if (!(await call.workspace.exists(call.path))) {
    refuse(`The path ${call.absolutePath} does not exist. Please provide a valid path.`);
  }
}

/** The file's text; refuses directories, binary files and (with `limit`) large files. */
async function readText(call: EditorCall, limit: boolean): Promise<string> {
  const info = await call.workspace.stat(call.path);
  if (info.type === 'directory') {
    refuse(
      `The path ${call.absolutePath} is a directory and only the \`view\` command can be used ` +
        'on directories.',
    );
  }
  const tooLarge = (size: number) =>
    refuse(
      `The file ${call.absolutePath} is too large (${megabytes(size)}); the limit is ` +
        `${megabytes(call.maxFileBytes)}. View part of it with view_range, or work on it with ` +
        'the terminal (grep -n, sed).',
    );
  if (limit && info.size > call.maxFileBytes) tooLarge(info.size);
  const bytes = await call.workspace.readFile(call.path);
  if (limit && bytes.length > call.maxFileBytes) tooLarge(bytes.length);
  const text = decodeText(bytes);
  if (text === undefined) {
    refuse(
      `The file ${call.absolutePath} appears to be binary (it holds NUL bytes or is not valid ` +
        'UTF-8). This tool only views and edits text files.',
    );
  }
  return text;
}

async function recordVersion(call: EditorCall, content: string): Promise<void> {
  await pushFileVersion({
    store: call.context.store,
    path: call.absolutePath,
    content,
    depth: call.historyDepth,
    maskSecrets: (text) => call.context.maskSecrets(text),
  });
}

/** Lines `first..last` (1-based, inclusive, clamped) of `text`, numbered. */
function snippet(text: string, first: number, last: number): string {
  const lines = splitLines(text);
  const start = Math.max(1, first);
  return numberLines(lines.slice(start - 1, Math.min(lines.length, last)), start);
}

async function viewDirectory(call: EditorCall): Promise<Outcome> {
  const root = call.absolutePath;
  const entries = await call.workspace.listFiles(call.path);
  const listed = [`${root}/`];
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const child = `${root}/${entry.name}`;
    if (entry.type !== 'directory') {
      listed.push(child);
      continue;
    }
    listed.push(`${child}/`);
    const grandchildren = await call.workspace
      .listFiles(`${call.path}/${entry.name}`)
      .catch(() => []);
    for (const grandchild of grandchildren) {
      if (grandchild.name.startsWith('.')) continue;
      listed.push(`${child}/${grandchild.name}${grandchild.type === 'directory' ? '/' : ''}`);
    }
  }
  const hidden = entries.filter((entry) => entry.name.startsWith('.')).length;
  let content =
    `Here's the files and directories up to 2 levels deep in ${root}, excluding hidden ` +
    `items:\n${listed.join('\n')}`;
  if (hidden > 0) {
    content +=
      `\n\n${hidden} hidden files/directories in this directory are excluded. You can use ` +
      `'ls -la ${root}' to see them.`;
  }
  return { content: clip(content, call.maxOutputChars, DIRECTORY_CLIPPED), prevExist: true };
}

async function view(call: EditorCall, viewRange: number[] | undefined): Promise<Outcome> {
  await requireExisting(call);
  if ((await call.workspace.stat(call.path)).type === 'directory') {
    if (viewRange !== undefined) {
      refuse('The `view_range` parameter is not allowed when `path` points to a directory.');
    }
    return viewDirectory(call);
  }
  const text = await readText(call, viewRange === undefined);
  const lines = splitLines(text);
  const header = `Here's the result of running \`cat -n\` on ${call.absolutePath}:\n`;
  if (viewRange === undefined) {
    const content = `${header}${numberLines(lines)}\n`;
    return { content: clip(content, call.maxOutputChars, FILE_CLIPPED), prevExist: true };
  }
  const [start, requestedEnd] = viewRange;
  if (viewRange.length !== 2 || start === undefined || requestedEnd === undefined) {
    refuse(
      `Invalid \`view_range\` parameter: ${JSON.stringify(viewRange)}. It should be a list of ` +
        'two integers, e.g. [1, 20] or [10, -1].',
    );
  }
  const range = JSON.stringify(viewRange);
  if (start < 1 || start > lines.length) {
    refuse(
      `Invalid \`view_range\` parameter: ${range}. Its first element \`${start}\` should be ` +
        `within the range of lines of the file: [1, ${lines.length}].`,
    );
  }
  let note = '';
  let end = requestedEnd === -1 ? lines.length : requestedEnd;
  if (end > lines.length) {
    note = `NOTE: We only show up to ${lines.length} since there are only ${lines.length} lines in this file.\n`;
    end = lines.length;
  }
  if (end < start) {
    refuse(
      `Invalid \`view_range\` parameter: ${range}. Its second element \`${requestedEnd}\` should ` +
        `be greater than or equal to the first element \`${start}\`, or -1.`,
    );
  }
  const content = `${note}${header}${numberLines(lines.slice(start - 1, end), start)}\n`;
  return { content: clip(content, call.maxOutputChars, FILE_CLIPPED), prevExist: true };
}

async function create(call: EditorCall, fileText: string | undefined): Promise<Outcome> {
  if (fileText === undefined) refuse('Parameter `file_text` is required for command: create.');
  if (await call.workspace.exists(call.path)) {
    refuse(
      `File already exists at: ${call.absolutePath}. Cannot overwrite files using command ` +
        '`create`: view it and edit it with `str_replace` or `insert`.',
    );
  }
  await call.workspace.writeFile(call.path, fileText);
  return {
    content: `File created successfully at: ${call.absolutePath}`,
    prevExist: false,
    newContent: fileText,
  };
}

async function strReplace(
  call: EditorCall,
  oldStr: string | undefined,
  newStr = '',
): Promise<Outcome> {
  if (oldStr === undefined) refuse('Parameter `old_str` is required for command: str_replace.');
  if (oldStr === '') refuse('`old_str` is empty: give the exact text to replace.');
  if (newStr === oldStr) {
    refuse('No replacement was performed: `new_str` and `old_str` must be different.');
  }
  await requireExisting(call);
  const text = await readText(call, true);
  const offsets = findOccurrences(text, oldStr);
  const [offset] = offsets;
  if (offset === undefined) {
    const trimmed = oldStr.trim();
    const nearLines = trimmed === '' || trimmed === oldStr ? [] : occurrenceLines(text, trimmed);
    refuse(
      `No replacement was performed, old_str \`${oldStr}\` did not appear verbatim in ` +
        `${call.absolutePath}. ` +
        (nearLines.length > 0
          ? `Without its leading and trailing whitespace it appears in lines ` +
            `${JSON.stringify(nearLines)}: check the whitespace and indentation of old_str.`
          : 'View the file to check its exact content, whitespace and indentation included.'),
    );
  }
  if (offsets.length > 1) {
    refuse(
      `No replacement was performed. Multiple occurrences (${offsets.length}) of old_str ` +
        `\`${oldStr}\` in lines ${JSON.stringify(occurrenceLines(text, oldStr))}. Please ` +
        'ensure it is unique: include more of the surrounding lines.',
    );
  }
  const newText = text.slice(0, offset) + newStr + text.slice(offset + oldStr.length);
  await recordVersion(call, text);
  await call.workspace.writeFile(call.path, newText);
  const line = lineNumberAt(text, offset);
  const shown = snippet(
    newText,
    line - SNIPPET_CONTEXT_LINES,
    line + SNIPPET_CONTEXT_LINES + (newStr.match(/\n/g)?.length ?? 0),
  );
  const content =
    `The file ${call.absolutePath} has been edited. Here's the result of running \`cat -n\` on ` +
    `a snippet of ${call.absolutePath}:\n${clip(shown, call.maxOutputChars, FILE_CLIPPED)}\n` +
    'Review the changes and make sure they are as expected. Edit the file again if necessary.';
  return { content, prevExist: true, oldContent: text, newContent: newText };
}

async function insert(
  call: EditorCall,
  insertLine: number | undefined,
  newStr: string | undefined,
): Promise<Outcome> {
  if (insertLine === undefined) refuse('Parameter `insert_line` is required for command: insert.');
  if (newStr === undefined) refuse('Parameter `new_str` is required for command: insert.');
  await requireExisting(call);
  const text = await readText(call, true);
  const eol = lineEnding(text);
  const lines = text === '' ? [] : text.split(eol);
  const endsWithEol = text === '' || text.endsWith(eol);
  if (text.endsWith(eol)) lines.pop();
  if (insertLine > lines.length) {
    refuse(
      `Invalid \`insert_line\` parameter: ${insertLine}. It should be within the range of ` +
        `allowed values: [0, ${lines.length}].`,
    );
  }
  // new_str becomes whole lines: one final line break of it ends its last line.
  const inserted = newStr.replace(/\r?\n$/, '').split(/\r?\n/);
  const newLines = [...lines.slice(0, insertLine), ...inserted, ...lines.slice(insertLine)];
  const newText = newLines.join(eol) + (endsWithEol ? eol : '');
  await recordVersion(call, text);
  await call.workspace.writeFile(call.path, newText);
  const shown = snippet(
    newText,
    insertLine - SNIPPET_CONTEXT_LINES + 1,
    insertLine + inserted.length + SNIPPET_CONTEXT_LINES,
  );
  const content =
    `The file ${call.absolutePath} has been edited. Here's the result of running \`cat -n\` on ` +
    `a snippet of the edited file:\n${clip(shown, call.maxOutputChars, FILE_CLIPPED)}\n` +
    'Review the changes and make sure they are as expected (correct indentation, no duplicate ' +
    'lines, etc). Edit the file again if necessary.';
  return { content, prevExist: true, oldContent: text, newContent: newText };
}

async function undoEdit(call: EditorCall): Promise<Outcome> {
  // Asked first, so a path outside the workspace is refused as such.
  const exists = await call.workspace.exists(call.path);
  const version = await lastFileVersion(call.context.store, call.absolutePath);
  if (version === undefined) refuse(`No edit history found for ${call.absolutePath}.`);
  if (version === null) {
    await dropLastFileVersion(call.context.store, call.absolutePath);
    refuse(
      `The content of ${call.absolutePath} before its last edit held a secret value, so it was ` +
        'not kept and cannot be restored. Restore it by hand if needed.',
    );
  }
  const current = exists ? await readText(call, true) : undefined;
  await call.workspace.writeFile(call.path, version);
  await dropLastFileVersion(call.context.store, call.absolutePath);
  const shown = `${numberLines(splitLines(version))}\n`;
  const content =
    `Last edit to ${call.absolutePath} undone successfully. Here's the result of running ` +
    `\`cat -n\` on ${call.absolutePath}:\n${clip(shown, call.maxOutputChars, FILE_CLIPPED)}`;
  return { content, prevExist: exists, oldContent: current, newContent: version };
}

function run(call: EditorCall, args: FileEditorParameters): Promise<Outcome> {
  switch (args.command) {
    case 'view':
      return view(call, args.view_range);
    case 'create':
      return create(call, args.file_text);
    case 'str_replace':
      return strReplace(call, args.old_str, args.new_str);
    case 'insert':
      return insert(call, args.insert_line, args.new_str);
    case 'undo_edit':
      return undoEdit(call);
  }
}

/** A file content for the observation: masked, or `null` when absent or too long to keep. */
function contentField(text: string | undefined, mask: (text: string) => string): string | null {
  return text === undefined || text.length > MAX_CONTENT_FIELD_CHARS ? null : mask(text);
}

/** Creates the `file_editor` tool (OpenHands' `FileEditorTool`) with its own bounds. */
export function createFileEditorTool(options: FileEditorToolOptions = {}) {
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_FILE_EDITOR_MAX_FILE_BYTES;
  const maxOutputChars = options.maxOutputChars ?? DEFAULT_FILE_EDITOR_MAX_OUTPUT_CHARS;
  const historyDepth = options.historyDepth ?? DEFAULT_FILE_HISTORY_DEPTH;

  return defineTool({
    name: 'file_editor',
    description: DESCRIPTION,
    parameters: fileEditorParametersSchema,
    actionKind: 'FileEditorAction',
    observationKind: 'FileEditorObservation',
    async execute(args, context): Promise<ToolResult> {
      const mask = (text: string) => context.maskSecrets(text);
      const workspace = context.workspace;
      if (!isWorkspace(workspace)) {
        return missingWorkspaceResult('file_editor', workspace, {
          command: args.command,
          path: mask(args.path),
        });
      }
      const absolutePath = posix.resolve(workspace.workingDir, args.path);
      const call: EditorCall = {
        workspace,
        context,
        path: args.path,
        absolutePath,
        maxFileBytes,
        maxOutputChars,
        historyDepth,
      };
      const base = { command: args.command, path: mask(absolutePath) };
      try {
        const outcome = await run(call, args);
        return {
          content: mask(outcome.content),
          fields: {
            ...base,
            prev_exist: outcome.prevExist,
            old_content: contentField(outcome.oldContent, mask),
            new_content: contentField(outcome.newContent, mask),
          },
        };
      } catch (error) {
        // Refusals (ours and the workspace's, such as a path outside it) are for the LLM to act on.
        if (context.signal.aborted || !FerryError.isInstance(error)) throw error;
        const message = mask(error.message);
        return { isError: true, content: message, fields: { ...base, error: message } };
      }
    },
  });
}

/** The `file_editor` tool with the default bounds. */
export const fileEditorTool = createFileEditorTool();
