import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readFile, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { list } from 'tar';
import { describe, expect, it } from 'vitest';
import { LocalConversation } from '../conversation/local-conversation';
import { conversationFolderName } from '../store/conversation-id';
import { BundleConflictError } from '../errors/bundle-conflict-error';
import { BundleSecurityError } from '../errors/bundle-security-error';
import { BundleTooLargeError } from '../errors/bundle-too-large-error';
import { ConversationLockedError } from '../errors/conversation-locked-error';
import { ConversationTeleportedError } from '../errors/conversation-teleported-error';
import type { FileStore } from '../persistence/file-store';
import { InMemoryFileStore } from '../persistence/in-memory-file-store';
import { LocalFileStore } from '../persistence/local-file-store';
import { createTemporaryDirectory } from '../testing/index';
import type { BundleProgress } from './bundle-manifest';
import {
  SECRET,
  agent,
  bundleContains,
  collect,
  createConversation,
  exportToBytes,
  snapshot,
  workspaceOf,
} from './bundle-test-helpers';
import { exportConversationBundle, writeConversationBundle } from './export-bundle';
import { importConversationBundle, readBundleManifest } from './import-bundle';

function conversationStore(root: string, id: string) {
  return new LocalFileStore({ root }).scope(conversationFolderName(id));
}

async function reopen(options: { root: string; id: string; workingDir: string }) {
  return LocalConversation.open({
    agent,
    conversationId: options.id,
    persistenceDir: options.root,
    workspace: workspaceOf(options.workingDir),
    onWarning: () => undefined,
  });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/** The store, with `rename` failing (EIO) whenever `fail` says so; scopes included. */
function withFailingRename(store: FileStore, fail: () => boolean): FileStore {
  return new Proxy(store, {
    get(target, property) {
      if (property === 'rename') {
        return (from: string, to: string) =>
          fail()
            ? Promise.reject(Object.assign(new Error('EIO: simulated failure'), { code: 'EIO' }))
            : target.rename(from, to);
      }
      if (property === 'scope') {
        return (subdir: string) => withFailingRename(target.scope(subdir), fail);
      }
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function'
        ? (value as (...args: unknown[]) => unknown).bind(target)
        : value;
    },
  });
}

function git(dir: string, ...args: string[]): void {
  execFileSync('git', args, { cwd: dir, stdio: 'ignore' });
}

describe('conversation bundles: export then import', () => {
  it('round-trips a real conversation: same id, byte-identical events and side files, same state but secrets', async () => {
    await using source = await createTemporaryDirectory();
    await using target = await createTemporaryDirectory();
    await using work = await createTemporaryDirectory();
    const id = await createConversation({ persistenceDir: source.path, workingDir: work.path });
    const folder = join(source.path, conversationFolderName(id));
    await writeFile(join(folder, 'TASKS.json'), '[{"title":"write"}]\n');
    await mkdir(join(folder, 'observations'));
    await writeFile(join(folder, 'observations', 'call_1.txt'), 'long output\n');
    await mkdir(join(folder, 'file_edits'));
    await writeFile(join(folder, 'file_edits', 'abc.json'), '{"edits":[]}\n');
    await writeFile(join(folder, '.base_state.json.0000.tmp'), 'half written');

    const file = join(work.path, 'conversation.tar.gz');
    const manifest = await writeConversationBundle({
      store: conversationStore(source.path, id),
      file,
    });
    expect(manifest).toMatchObject({
      format: 'ferry-conversation-bundle',
      version: 1,
      conversation_id: id,
      event_count: 2,
      includes_workspace: false,
    });
    expect(manifest.files.map((entry) => entry.path)).toEqual([
      'base_state.json',
      'events/segment-000001.jsonl',
      'TASKS.json',
      'context_snapshot.json',
      'file_edits/abc.json',
      'observations/call_1.txt',
    ]);
    const bundle = await readFile(file);
    expect(bundleContains(bundle, SECRET)).toBe(false);
    expect(bundleContains(bundle, '**********')).toBe(true);
    expect(await readBundleManifest(file)).toEqual(manifest);

    const result = await importConversationBundle({
      source: file,
      store: new LocalFileStore({ root: target.path }),
    });
    expect(result).toEqual({ manifest, conversationId: id });
    expect(await readdir(target.path)).toEqual([conversationFolderName(id)]);

    const copied = await snapshot(join(target.path, conversationFolderName(id)));
    const original = await snapshot(folder);
    for (const path of [
      'events/segment-000001.jsonl',
      'TASKS.json',
      'observations/call_1.txt',
      'file_edits/abc.json',
    ]) {
      expect(copied[path], path).toBe(original[path]);
    }
    expect(Object.keys(copied)).not.toContain('.lock');
    expect(Object.keys(copied)).not.toContain('.base_state.json.0000.tmp');
    expect(copied['base_state.json']).not.toContain(SECRET);

    const imported = await reopen({ root: target.path, id, workingDir: work.path });
    const before = await reopen({ root: source.path, id, workingDir: work.path });
    try {
      expect(imported.id).toBe(id);
      expect([...imported.events]).toEqual([...before.events]);
      expect({ ...imported.state, persistence_dir: null }).toEqual({
        ...before.state,
        persistence_dir: null,
      });
      expect(imported.agent.llm.api_key).toBe(SECRET);
      expect(imported.state.title).toBe('Report');
    } finally {
      await imported.close();
      await before.close();
    }
  });

  it('never carries a secret, even an encrypted one, and reports progress', async () => {
    await using source = await createTemporaryDirectory();
    const secretKey = 'a-key-for-encrypting-secrets-0123456789';
    const conversation = await LocalConversation.open({
      agent,
      workspace: workspaceOf('/tmp/project'),
      persistenceDir: source.path,
      secretKey,
      onWarning: () => undefined,
    });
    await conversation.sendMessage('hello');
    await conversation.close();
    const stateOnDisk = await readFile(
      join(source.path, conversationFolderName(conversation.id), 'base_state.json'),
      'utf8',
    );
    const encrypted = (JSON.parse(stateOnDisk) as { agent: { llm: { api_key: string } } }).agent.llm
      .api_key;
    expect(encrypted).not.toBe('**********');

    const progress: BundleProgress[] = [];
    const { manifest, stream } = await exportConversationBundle({
      store: conversationStore(source.path, conversation.id),
      onProgress: (update) => progress.push(update),
    });
    const bundle = await collect(stream);
    expect(bundleContains(bundle, SECRET)).toBe(false);
    expect(bundleContains(bundle, encrypted)).toBe(false);

    const totalBytes = manifest.files.reduce((sum, file) => sum + file.size, 0);
    expect(progress.at(-1)).toMatchObject({ bytes: totalBytes, totalBytes, events: 1 });
    expect(progress.some((update) => update.phase === 'events')).toBe(true);
    const bytes = progress.map((update) => update.bytes);
    expect(bytes).toEqual([...bytes].sort((a, b) => a - b));
  });

  it('round-trips through in-memory stores and reads the manifest from bytes and streams', async () => {
    const source = new InMemoryFileStore();
    const id = await createConversation({ store: source, workingDir: '/tmp/project' });
    const bundle = await exportToBytes({ store: source.scope(conversationFolderName(id)) });
    const manifest = await readBundleManifest(bundle);
    expect(await readBundleManifest(Readable.from([bundle]))).toEqual(manifest);

    const target = new InMemoryFileStore();
    const imports: BundleProgress[] = [];
    await importConversationBundle({
      source: Readable.from([bundle]),
      store: target,
      onProgress: (update) => imports.push(update),
    });
    expect(await target.list('')).toEqual([conversationFolderName(id)]);
    expect(imports.at(-1)).toMatchObject({ events: manifest.event_count });
    const segment = `${conversationFolderName(id)}/events/segment-000001.jsonl`;
    expect(await target.readText(segment)).toBe(await source.readText(segment));

    const conversation = await LocalConversation.open({
      conversationId: id,
      store: target,
      agent,
      workspace: workspaceOf('/tmp/project'),
      onWarning: () => undefined,
    });
    expect(conversation.events.length).toBe(manifest.event_count);
    await conversation.close();
  });

  it('imports a conversation parked for its origin with parkedFor, refusing to run', async () => {
    const source = new InMemoryFileStore();
    const id = await createConversation({ store: source, workingDir: '/tmp/project' });
    const bundle = await exportToBytes({ store: source.scope(conversationFolderName(id)) });
    const manifest = await readBundleManifest(bundle);

    const target = new InMemoryFileStore();
    await importConversationBundle({
      source: bundle,
      store: target,
      parkedFor: { to: 'file://laptop/home/me/ferry' },
    });
    const conversation = await LocalConversation.open({
      conversationId: id,
      store: target,
      agent,
      workspace: workspaceOf('/tmp/project'),
      onWarning: () => undefined,
    });
    expect(conversation.state.teleport).toMatchObject({
      to: 'file://laptop/home/me/ferry',
      bundle_id: manifest.bundle_id,
    });
    expect(() => conversation.run()).toThrow(ConversationTeleportedError);
    expect(conversation.events.length).toBe(manifest.event_count);
    await conversation.close();
  });

  it('carries a git workspace without its ignored files and restores it, execute bits included', async () => {
    await using source = await createTemporaryDirectory();
    await using target = await createTemporaryDirectory();
    await using work = await createTemporaryDirectory();
    await using restored = await createTemporaryDirectory();
    const id = await createConversation({ persistenceDir: source.path, workingDir: work.path });
    git(work.path, 'init', '--quiet');
    await writeFile(join(work.path, '.gitignore'), 'build/\n*.env\n');
    await mkdir(join(work.path, 'src', 'deep'.repeat(30)), { recursive: true });
    await mkdir(join(work.path, 'build'));
    await writeFile(join(work.path, 'src', 'a.ts'), 'export const a = 1;\n');
    const longPath = join('src', 'deep'.repeat(30), `${'long-name-'.repeat(20)}.txt`);
    await writeFile(join(work.path, longPath), 'far away\n');
    await writeFile(join(work.path, 'build', 'out.js'), 'compiled');
    await writeFile(join(work.path, 'secret.env'), `API_KEY=${SECRET}\n`);
    await writeFile(join(work.path, 'run.sh'), '#!/bin/sh\necho hi\n');
    await chmod(join(work.path, 'run.sh'), 0o755);
    await symlink('src/a.ts', join(work.path, 'link.ts'));
    git(work.path, 'add', 'src/a.ts');
    await writeFile(join(work.path, 'untracked.md'), '# notes\n');

    const bundle = await exportToBytes({
      store: conversationStore(source.path, id),
      workspaceDir: work.path,
    });
    const manifest = await readBundleManifest(bundle);
    expect(manifest.includes_workspace).toBe(true);
    expect(manifest.files.filter((file) => file.path.startsWith('workspace/'))).toEqual([
      expect.objectContaining({ path: 'workspace/.gitignore' }),
      expect.objectContaining({ path: 'workspace/run.sh', executable: true }),
      expect.objectContaining({ path: 'workspace/src/a.ts' }),
      expect.objectContaining({ path: `workspace/${longPath}` }),
      expect.objectContaining({ path: 'workspace/untracked.md' }),
    ]);
    expect(bundleContains(bundle, SECRET)).toBe(false);

    // Standard tar readers see the same entries, the long path included.
    const listed: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const parser = list({ onReadEntry: (entry) => listed.push(entry.path) });
      parser.on('end', () => resolve());
      parser.on('error', reject);
      parser.end(bundle);
    });
    expect(listed).toEqual(['manifest.json', ...manifest.files.map((file) => file.path)]);

    await importConversationBundle({
      source: bundle,
      store: new LocalFileStore({ root: target.path }),
      workspaceDir: restored.path,
    });
    const files = await snapshot(restored.path);
    expect(Object.keys(files).filter((path) => !path.endsWith('/'))).toEqual([
      '.gitignore',
      'run.sh',
      'src/a.ts',
      longPath,
      'untracked.md',
    ]);
    expect(files['src/a.ts']).toBe('100644 export const a = 1;\n');
    expect((await stat(join(restored.path, 'run.sh'))).mode & 0o111).not.toBe(0);
  });

  it('carries a plain folder without .git/ and node_modules/', async () => {
    await using source = await createTemporaryDirectory();
    await using work = await createTemporaryDirectory();
    const id = await createConversation({ persistenceDir: source.path, workingDir: work.path });
    await mkdir(join(work.path, 'node_modules', 'left-pad'), { recursive: true });
    await writeFile(join(work.path, 'node_modules', 'left-pad', 'index.js'), '');
    await mkdir(join(work.path, 'lib', 'node_modules'), { recursive: true });
    await writeFile(join(work.path, 'lib', 'node_modules', 'x.js'), '');
    await mkdir(join(work.path, '.git'));
    await writeFile(join(work.path, '.git', 'HEAD'), 'not really a repository');
    await writeFile(join(work.path, 'lib', 'main.js'), 'main');
    await writeFile(join(work.path, '.env'), 'A=1');

    const manifest = await readBundleManifest(
      await exportToBytes({ store: conversationStore(source.path, id), workspaceDir: work.path }),
    );
    expect(
      manifest.files.map((file) => file.path).filter((path) => path.startsWith('workspace/')),
    ).toEqual(['workspace/.env', 'workspace/lib/main.js']);
  });

  it('fails clearly when the workspace is over maxWorkspaceBytes or missing', async () => {
    await using source = await createTemporaryDirectory();
    await using work = await createTemporaryDirectory();
    const id = await createConversation({ persistenceDir: source.path, workingDir: work.path });
    await writeFile(join(work.path, 'big.bin'), Buffer.alloc(2048));
    await writeFile(join(work.path, 'small.txt'), 'x');
    const file = join(source.path, 'out.tar.gz');
    const error = await rejection(
      writeConversationBundle({
        store: conversationStore(source.path, id),
        workspaceDir: work.path,
        maxWorkspaceBytes: 1024,
        file,
      }),
    );
    expect(BundleTooLargeError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ size: 2049, limit: 1024, option: 'maxWorkspaceBytes' });
    expect(await readdir(source.path)).toEqual([conversationFolderName(id)]);

    const missing = await rejection(
      exportConversationBundle({
        store: conversationStore(source.path, id),
        workspaceDir: join(work.path, 'nowhere'),
      }),
    );
    expect(missing).toMatchObject({ code: 'WORKSPACE_NOT_FOUND' });
  });
});

describe('importing onto what exists', () => {
  async function setUp() {
    const source = await createTemporaryDirectory();
    const target = await createTemporaryDirectory();
    const id = await createConversation({ persistenceDir: source.path, workingDir: '/tmp/p' });
    const first = await exportToBytes({ store: conversationStore(source.path, id) });
    const root = new LocalFileStore({ root: target.path });
    await importConversationBundle({ source: first, store: root });
    // The source moves on, and a second export carries more events.
    const conversation = await reopen({ root: source.path, id, workingDir: '/tmp/p' });
    await conversation.sendMessage('one more thing');
    await conversation.close();
    const work = await createTemporaryDirectory();
    await writeFile(join(work.path, 'notes.md'), 'notes');
    const second = await exportToBytes({
      store: conversationStore(source.path, id),
      workspaceDir: work.path,
    });
    return {
      id,
      root,
      target: target.path,
      second,
      async [Symbol.asyncDispose]() {
        await source.remove();
        await target.remove();
        await work.remove();
      },
    };
  }

  it('refuses an existing conversation without overwrite and leaves it untouched', async () => {
    await using subject = await setUp();
    const before = await snapshot(subject.target);
    const error = await rejection(
      importConversationBundle({ source: subject.second, store: subject.root }),
    );
    expect(BundleConflictError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ conversationId: subject.id, files: [] });
    expect(await snapshot(subject.target)).toEqual(before);
  });

  it('replaces it with overwrite, leaving no staging folder behind', async () => {
    await using subject = await setUp();
    const result = await importConversationBundle({
      source: subject.second,
      store: subject.root,
      overwrite: true,
    });
    expect(result.manifest.event_count).toBe(3);
    expect(await readdir(subject.target)).toEqual([conversationFolderName(subject.id)]);
    const conversation = await reopen({ root: subject.target, id: subject.id, workingDir: '/p' });
    expect(conversation.events.length).toBe(3);
    await conversation.close();
  });

  it('puts the previous copy back when moving the new one into place fails', async () => {
    await using subject = await setUp();
    const before = await snapshot(subject.target);
    let renames = 0;
    // The second rename is the staged copy into place, after the old one moved aside.
    const store = withFailingRename(subject.root, () => (renames += 1) === 2);
    const error = await rejection(
      importConversationBundle({ source: subject.second, store, overwrite: true }),
    );
    expect(error).toMatchObject({ code: 'BUNDLE_IMPORT_FAILED', cause: { code: 'EIO' } });
    expect(renames).toBe(3);
    expect(await snapshot(subject.target)).toEqual(before);
  });

  it('refuses to replace a conversation that is open, changing nothing', async () => {
    await using subject = await setUp();
    await using destination = await createTemporaryDirectory();
    const open = await reopen({ root: subject.target, id: subject.id, workingDir: '/tmp/p' });
    try {
      const before = await snapshot(subject.target);
      const error = await rejection(
        importConversationBundle({
          source: subject.second,
          store: subject.root,
          workspaceDir: destination.path,
          overwrite: true,
        }),
      );
      expect(ConversationLockedError.isInstance(error)).toBe(true);
      expect(await snapshot(subject.target)).toEqual(before);
      expect(await readdir(destination.path)).toEqual([]);
    } finally {
      await open.close();
    }
  });

  it('refuses to overwrite differing workspace files unless told to, listing them', async () => {
    await using source = await createTemporaryDirectory();
    await using work = await createTemporaryDirectory();
    await using target = await createTemporaryDirectory();
    await using destination = await createTemporaryDirectory();
    const id = await createConversation({ persistenceDir: source.path, workingDir: work.path });
    await writeFile(join(work.path, 'same.txt'), 'same');
    await writeFile(join(work.path, 'changed.txt'), 'from the bundle');
    await writeFile(join(work.path, 'new.txt'), 'new');
    const bundle = await exportToBytes({
      store: conversationStore(source.path, id),
      workspaceDir: work.path,
    });
    await writeFile(join(destination.path, 'same.txt'), 'same');
    await writeFile(join(destination.path, 'changed.txt'), 'edited here');
    await writeFile(join(destination.path, 'mine.txt'), 'untouched');
    const root = new LocalFileStore({ root: target.path });

    const before = { target: await snapshot(target.path), work: await snapshot(destination.path) };
    const error = await rejection(
      importConversationBundle({ source: bundle, store: root, workspaceDir: destination.path }),
    );
    expect(BundleConflictError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ files: ['changed.txt'] });
    expect(await snapshot(target.path)).toEqual(before.target);
    expect(await snapshot(destination.path)).toEqual(before.work);

    await importConversationBundle({
      source: bundle,
      store: root,
      workspaceDir: destination.path,
      overwrite: true,
    });
    expect(await readFile(join(destination.path, 'changed.txt'), 'utf8')).toBe('from the bundle');
    expect(await readFile(join(destination.path, 'new.txt'), 'utf8')).toBe('new');
    expect(await readFile(join(destination.path, 'mine.txt'), 'utf8')).toBe('untouched');
  });

  it('never writes workspace files through a symbolic link in the destination', async () => {
    await using source = await createTemporaryDirectory();
    await using work = await createTemporaryDirectory();
    await using target = await createTemporaryDirectory();
    await using destination = await createTemporaryDirectory();
    await using outside = await createTemporaryDirectory();
    const id = await createConversation({ persistenceDir: source.path, workingDir: work.path });
    await mkdir(join(work.path, 'docs'));
    await writeFile(join(work.path, 'docs', 'a.md'), 'a');
    const bundle = await exportToBytes({
      store: conversationStore(source.path, id),
      workspaceDir: work.path,
    });
    await symlink(outside.path, join(destination.path, 'docs'));
    const error = await rejection(
      importConversationBundle({
        source: bundle,
        store: new LocalFileStore({ root: target.path }),
        workspaceDir: destination.path,
        overwrite: true,
      }),
    );
    expect(BundleSecurityError.isInstance(error)).toBe(true);
    expect(await readdir(outside.path)).toEqual([]);
    expect(await readdir(target.path)).toEqual([]);
  });
});
