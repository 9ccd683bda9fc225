import { cp, mkdir, mkdtemp, readFile, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalConversation } from '../conversation/local-conversation';
import { BundleBaseMismatchError } from '../errors/bundle-base-mismatch-error';
import { LocalFileStore } from '../persistence/local-file-store';
import { conversationFolderName } from '../store/conversation-id';
import { readBundleBase, type BundleBase } from './bundle-base';
import { DELTA_BUNDLE_VERSION, type BundleManifest } from './bundle-manifest';
import { agent, collect, snapshot, workspaceOf } from './bundle-test-helpers';
import { exportConversationBundle } from './export-bundle';
import { importConversationBundle } from './import-bundle';

let dir: string;
let sourceRoot: string;
let targetRoot: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-delta-'));
  sourceRoot = join(dir, 'source');
  targetRoot = join(dir, 'target');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const text = (index: number) => `Message ${index}: ${'the quick brown fox jumps '.repeat(20)}`;

/** A conversation of `count` messages in `root`; returns its id. */
async function conversationWith(root: string, count: number, id?: string): Promise<string> {
  const conversation = await LocalConversation.open({
    agent,
    workspace: workspaceOf(join(dir, 'work')),
    persistenceDir: root,
    ...(id === undefined ? {} : { conversationId: id }),
    fsync: false,
    onWarning: () => undefined,
  });
  for (let index = 0; index < count; index += 1) await conversation.sendMessage(text(index));
  await conversation.close();
  return conversation.id;
}

async function addMessages(root: string, id: string, count: number, from = 0): Promise<void> {
  const conversation = await LocalConversation.open({
    persistenceDir: root,
    conversationId: id,
    workspace: workspaceOf(join(dir, 'work')),
    fsync: false,
    onWarning: () => undefined,
  });
  for (let index = 0; index < count; index += 1) {
    await conversation.sendMessage(`new ${from + index}: ${text(index)}`);
  }
  await conversation.close();
}

async function eventIds(root: string, id: string): Promise<string[]> {
  const conversation = await LocalConversation.open({
    persistenceDir: root,
    conversationId: id,
    workspace: workspaceOf(join(dir, 'work')),
    onWarning: () => undefined,
  });
  const ids = conversation.events.raw().map((event) => event.id);
  await conversation.close();
  return ids;
}

function folderOf(root: string, id: string): string {
  return join(root, conversationFolderName(id));
}

async function baseOf(root: string, id: string, workspaceDir?: string): Promise<BundleBase> {
  const base = await readBundleBase({
    store: new LocalFileStore({ root: folderOf(root, id) }),
    ...(workspaceDir === undefined ? {} : { workspaceDir }),
  });
  if (base === undefined) throw new Error('no base');
  return base;
}

async function exportFrom(
  root: string,
  id: string,
  options: { base?: BundleBase; workspaceDir?: string } = {},
): Promise<{ manifest: BundleManifest; bytes: Buffer; baseRefused?: string }> {
  const exported = await exportConversationBundle({
    store: new LocalFileStore({ root: folderOf(root, id) }),
    ...options,
  });
  return {
    manifest: exported.manifest,
    bytes: await collect(exported.stream),
    ...(exported.baseRefused === undefined ? {} : { baseRefused: exported.baseRefused }),
  };
}

/** The segment file of the log (these conversations fit in one). */
function firstSegment(root: string, id: string): string {
  return join(folderOf(root, id), 'events', 'segment-000001.jsonl');
}

// Each test writes and exports conversations of hundreds of events: seconds on a busy machine.
describe('delta bundles', { timeout: 60_000 }, () => {
  it('carry only the new events and rebuild the same log, ids intact', async () => {
    const id = await conversationWith(sourceRoot, 200);
    await cp(folderOf(sourceRoot, id), folderOf(targetRoot, id), { recursive: true });
    await addMessages(sourceRoot, id, 50);

    const full = await exportFrom(sourceRoot, id);
    const delta = await exportFrom(sourceRoot, id, { base: await baseOf(targetRoot, id) });
    expect(delta.baseRefused).toBeUndefined();
    expect(delta.manifest.version).toBe(DELTA_BUNDLE_VERSION);
    expect(delta.manifest.base?.event_count).toBe(200);
    expect(delta.manifest.event_count).toBe(250);
    expect(full.manifest.event_count).toBe(250);
    // 50 of 250 events: well under half of the whole conversation's bundle.
    expect(delta.bytes.length).toBeLessThan(full.bytes.length / 3);

    await importConversationBundle({
      source: delta.bytes,
      store: new LocalFileStore({ root: targetRoot }),
    });
    expect(await readFile(firstSegment(targetRoot, id))).toEqual(
      await readFile(firstSegment(sourceRoot, id)),
    );
    expect(await eventIds(targetRoot, id)).toEqual(await eventIds(sourceRoot, id));
  });

  it("leave out the log's index: a copy that rewrote its index still takes the delta", async () => {
    const id = await conversationWith(sourceRoot, 120);
    const whole = await exportFrom(sourceRoot, id);
    expect(whole.manifest.files.map((file) => file.path)).not.toContain('events/index.json');
    await importConversationBundle({
      source: whole.bytes,
      store: new LocalFileStore({ root: targetRoot }),
    });
    await addMessages(targetRoot, id, 5);
    await cp(folderOf(targetRoot, id), folderOf(sourceRoot, id), { recursive: true });
    await addMessages(sourceRoot, id, 30, 5);
    // An index the destination's owner wrote (one that does not match is rebuilt on open).
    const index = join(folderOf(targetRoot, id), 'events', 'index.json');
    await writeFile(index, '{"version":0}\n');
    const base = await baseOf(targetRoot, id);
    expect(base.files.map((file) => file.path)).not.toContain('events/index.json');
    // It rewrites its index after describing its copy (as a server does when it closes a
    // conversation): the delta still applies.
    await writeFile(index, '{"version":0,"rewritten":true}\n');
    const delta = await exportFrom(sourceRoot, id, { base });
    expect(delta.baseRefused).toBeUndefined();
    expect(delta.manifest.files.map((file) => file.path)).not.toContain('events/index.json');
    await importConversationBundle({
      source: delta.bytes,
      store: new LocalFileStore({ root: targetRoot }),
    });
    expect(await eventIds(targetRoot, id)).toEqual(await eventIds(sourceRoot, id));
  });

  it('grow with the new events, not with the history', async () => {
    const short = await conversationWith(join(sourceRoot, 'short'), 100);
    const long = await conversationWith(join(sourceRoot, 'long'), 800);
    const sizes: Record<string, { full: number; delta: number }> = {};
    for (const [name, id] of [
      ['short', short],
      ['long', long],
    ] as const) {
      const root = join(sourceRoot, name);
      const target = join(targetRoot, name);
      await cp(folderOf(root, id), folderOf(target, id), { recursive: true });
      await addMessages(root, id, 50);
      const base = await baseOf(target, id);
      sizes[name] = {
        full: (await exportFrom(root, id)).bytes.length,
        delta: (await exportFrom(root, id, { base })).bytes.length,
      };
    }
    const { short: small, long: large } = sizes as Record<
      'short' | 'long',
      { full: number; delta: number }
    >;
    expect(large.full).toBeGreaterThan(small.full * 4);
    // The same 50 new events on 8x the history: about the same delta.
    expect(large.delta).toBeLessThan(small.delta * 1.5);
    expect(large.delta).toBeLessThan(large.full / 8);
  });

  it('start new segments and add them whole', async () => {
    const id = await conversationWith(sourceRoot, 20);
    await cp(folderOf(sourceRoot, id), folderOf(targetRoot, id), { recursive: true });
    await addMessages(sourceRoot, id, 5);
    // As the log does past its size bound: later events in a second segment.
    const second = join(folderOf(sourceRoot, id), 'events', 'segment-000002.jsonl');
    const segment = (await readFile(firstSegment(sourceRoot, id), 'utf8')).split('\n');
    const moved = segment.slice(-4, -1);
    await writeFile(firstSegment(sourceRoot, id), `${segment.slice(0, -4).join('\n')}\n`);
    await writeFile(second, `${moved.join('\n')}\n`);

    const delta = await exportFrom(sourceRoot, id, { base: await baseOf(targetRoot, id) });
    expect(delta.manifest.base).toBeDefined();
    expect(delta.manifest.files.map((file) => file.path)).toContain('events/segment-000002.jsonl');
    await importConversationBundle({
      source: delta.bytes,
      store: new LocalFileStore({ root: targetRoot }),
    });
    expect(await eventIds(targetRoot, id)).toEqual(await eventIds(sourceRoot, id));
  });

  it('carry only the workspace files whose content differs', async () => {
    const id = await conversationWith(sourceRoot, 10);
    await cp(folderOf(sourceRoot, id), folderOf(targetRoot, id), { recursive: true });
    const here = join(dir, 'work-here');
    const there = join(dir, 'work-there');
    for (const workspace of [here, there]) {
      await mkdir(join(workspace, 'src'), { recursive: true });
      await writeFile(join(workspace, 'src', 'a.ts'), 'export const a = 1;\n');
      await writeFile(join(workspace, 'README.md'), '# Same\n'.repeat(1000));
    }
    await writeFile(join(here, 'src', 'a.ts'), 'export const a = 2;\n');
    await writeFile(join(here, 'src', 'b.ts'), 'export const b = 1;\n');
    await addMessages(sourceRoot, id, 3);

    const delta = await exportFrom(sourceRoot, id, {
      workspaceDir: here,
      base: await baseOf(targetRoot, id, there),
    });
    const sentWorkspace = delta.manifest.files
      .map((file) => file.path)
      .filter((path) => path.startsWith('workspace/'));
    expect(sentWorkspace.sort()).toEqual(['workspace/src/a.ts', 'workspace/src/b.ts']);
    expect(delta.manifest.base?.files.map((file) => file.path)).toContain('workspace/README.md');

    await importConversationBundle({
      source: delta.bytes,
      store: new LocalFileStore({ root: targetRoot }),
      workspaceDir: there,
      overwrite: true,
    });
    expect(await readFile(join(there, 'src', 'a.ts'), 'utf8')).toBe('export const a = 2;\n');
    expect(await readFile(join(there, 'src', 'b.ts'), 'utf8')).toBe('export const b = 1;\n');
  });
});

describe('the export', () => {
  it('leaves out a torn last line, in a whole bundle and in a delta', async () => {
    const id = await conversationWith(sourceRoot, 12);
    await cp(folderOf(sourceRoot, id), folderOf(targetRoot, id), { recursive: true });
    await addMessages(sourceRoot, id, 3);
    const segment = firstSegment(sourceRoot, id);
    const whole = await readFile(segment);
    await writeFile(segment, Buffer.concat([whole, Buffer.from('{"id": "torn-by-a-cra')]));

    const full = await exportFrom(sourceRoot, id);
    expect(full.manifest.event_count).toBe(15);
    const delta = await exportFrom(sourceRoot, id, { base: await baseOf(targetRoot, id) });
    expect(delta.manifest.event_count).toBe(15);
    await importConversationBundle({
      source: delta.bytes,
      store: new LocalFileStore({ root: targetRoot }),
    });
    expect(await readFile(firstSegment(targetRoot, id))).toEqual(whole);
  });
});

describe('a destination whose copy diverged', () => {
  async function diverged(change: (segment: string) => Promise<void>) {
    const id = await conversationWith(sourceRoot, 30);
    await cp(folderOf(sourceRoot, id), folderOf(targetRoot, id), { recursive: true });
    await addMessages(sourceRoot, id, 5);
    await change(firstSegment(targetRoot, id));
    const exported = await exportFrom(sourceRoot, id, { base: await baseOf(targetRoot, id) });
    return { id, exported };
  }

  it('gets the whole conversation when an event was edited there', async () => {
    const { id, exported } = await diverged(async (segment) => {
      const content = await readFile(segment, 'utf8');
      await writeFile(segment, content.replace('Message 3:', 'Massage 3:'));
    });
    expect(exported.manifest.base).toBeUndefined();
    expect(exported.baseRefused).toMatch(/differs from this side's first \d+ bytes/);
    // The whole bundle replaces the diverged copy: the same log as the source's.
    await importConversationBundle({
      source: exported.bytes,
      store: new LocalFileStore({ root: targetRoot }),
      overwrite: true,
    });
    expect(await eventIds(targetRoot, id)).toEqual(await eventIds(sourceRoot, id));
    expect(await readFile(firstSegment(targetRoot, id))).toEqual(
      await readFile(firstSegment(sourceRoot, id)),
    );
  });

  it('gets the whole conversation when its log was cut mid-event', async () => {
    const { exported } = await diverged(async (segment) => {
      const content = await readFile(segment);
      await truncate(segment, content.length - 10);
    });
    expect(exported.manifest.base).toBeUndefined();
    expect(exported.baseRefused).toMatch(/does not end on a whole event|differs/);
  });

  it('gets only what it lacks when its log is a shorter prefix (cut on an event boundary)', async () => {
    const { id, exported } = await diverged(async (segment) => {
      const lines = (await readFile(segment, 'utf8')).split('\n');
      await writeFile(segment, `${lines.slice(0, 10).join('\n')}\n`);
    });
    expect(exported.manifest.base?.event_count).toBe(10);
    await importConversationBundle({
      source: exported.bytes,
      store: new LocalFileStore({ root: targetRoot }),
    });
    expect(await eventIds(targetRoot, id)).toEqual(await eventIds(sourceRoot, id));
  });

  it('gets the whole conversation when it holds another fork (events this side lacks)', async () => {
    const id = await conversationWith(sourceRoot, 30);
    await cp(folderOf(sourceRoot, id), folderOf(targetRoot, id), { recursive: true });
    await addMessages(targetRoot, id, 3, 100);
    await addMessages(sourceRoot, id, 5);
    const exported = await exportFrom(sourceRoot, id, { base: await baseOf(targetRoot, id) });
    expect(exported.manifest.base).toBeUndefined();
    expect(exported.baseRefused).toMatch(/more than this side's|differs/);
  });

  it('refuses a delta whose base changed there since, with a typed error, changing nothing', async () => {
    const id = await conversationWith(sourceRoot, 30);
    await cp(folderOf(sourceRoot, id), folderOf(targetRoot, id), { recursive: true });
    await addMessages(sourceRoot, id, 5);
    const delta = await exportFrom(sourceRoot, id, { base: await baseOf(targetRoot, id) });
    expect(delta.manifest.base).toBeDefined();
    const store = new LocalFileStore({ root: targetRoot });

    // Appended there after it described itself.
    await addMessages(targetRoot, id, 1, 200);
    const before = await snapshot(targetRoot);
    const grown = await importConversationBundle({ source: delta.bytes, store }).catch(
      (error: unknown) => error,
    );
    expect(BundleBaseMismatchError.isInstance(grown)).toBe(true);
    expect(grown).toMatchObject({ code: 'BUNDLE_BASE_MISMATCH' });
    expect(await snapshot(targetRoot)).toEqual(before);

    // No copy at all.
    await rm(folderOf(targetRoot, id), { recursive: true });
    const absent = await importConversationBundle({ source: delta.bytes, store }).catch(
      (error: unknown) => error,
    );
    expect(BundleBaseMismatchError.isInstance(absent)).toBe(true);
    expect((absent as Error).message).toMatch(/no copy of it/);
  });

  it('refuses a delta when its base was edited in place after it described itself, times put back', async () => {
    const id = await conversationWith(sourceRoot, 30);
    await cp(folderOf(sourceRoot, id), folderOf(targetRoot, id), { recursive: true });
    await addMessages(sourceRoot, id, 5);
    // Describing it hashes the segment, and this process remembers that digest.
    const delta = await exportFrom(sourceRoot, id, { base: await baseOf(targetRoot, id) });
    expect(delta.manifest.base).toBeDefined();
    const segment = firstSegment(targetRoot, id);
    const times = await stat(segment);
    const content = await readFile(segment, 'utf8');
    await writeFile(segment, content.replace('Message 3:', 'Massage 3:'));
    await utimes(segment, times.atime, times.mtime);
    expect((await stat(segment)).size).toBe(times.size);

    const error = await importConversationBundle({
      source: delta.bytes,
      store: new LocalFileStore({ root: targetRoot }),
    }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'BUNDLE_BASE_MISMATCH' });
    expect((error as Error).message).toMatch(/segment-000001\.jsonl differs here/);
  });

  it('refuses a delta on top of an edited side file', async () => {
    const id = await conversationWith(sourceRoot, 5);
    await writeFile(join(folderOf(sourceRoot, id), 'TASKS.json'), '[]\n');
    await cp(folderOf(sourceRoot, id), folderOf(targetRoot, id), { recursive: true });
    await addMessages(sourceRoot, id, 2);
    const delta = await exportFrom(sourceRoot, id, { base: await baseOf(targetRoot, id) });
    expect(delta.manifest.base?.files.map((file) => file.path)).toContain('TASKS.json');
    await writeFile(join(folderOf(targetRoot, id), 'TASKS.json'), '[{"edited": true}]\n');
    const error = await importConversationBundle({
      source: delta.bytes,
      store: new LocalFileStore({ root: targetRoot }),
    }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'BUNDLE_BASE_MISMATCH' });
    expect((error as Error).message).toMatch(/TASKS\.json differs here/);
  });
});
