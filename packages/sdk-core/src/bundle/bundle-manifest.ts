import { z } from 'zod';
import { BundleFormatError } from '../errors/index';
import { bundlePathProblem } from './bundle-path';

/** The `format` of every Ferry conversation bundle's manifest. */
export const BUNDLE_FORMAT = 'ferry-conversation-bundle';

/** The version of a full bundle: the whole conversation, readable by every Ferry. */
export const BUNDLE_VERSION = 1;

/**
 * The version of a delta bundle (the newest this Ferry reads): only what the destination lacks,
 * on top of a `base` the destination must hold byte for byte.
 */
export const DELTA_BUNDLE_VERSION = 2;

/** The manifest's name in the archive; always the first entry. */
export const MANIFEST_FILE = 'manifest.json';

/** The archive folder holding the workspace's files. */
export const WORKSPACE_PREFIX = 'workspace/';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** One file of a bundle, as the manifest lists it. */
export const bundleFileSchema = z.looseObject({
  /** Path in the archive, `/`-separated (`events/segment-000001.jsonl`, `workspace/src/a.ts`). */
  path: z.string().superRefine((path, context) => {
    const problem = bundlePathProblem(path);
    if (problem !== undefined) context.addIssue({ code: 'custom', message: problem });
  }),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'),
  /** A workspace file with an execute bit. */
  executable: z.boolean().optional(),
});
export type BundleFile = z.infer<typeof bundleFileSchema>;

/**
 * What a delta bundle extends: the destination's files it keeps, each as the destination must
 * hold it (size and SHA-256). An event segment listed here and also in `files` grows by the
 * archive entry's bytes (appended); every other archive entry replaces or adds a file.
 */
export const bundleBaseRefSchema = z.looseObject({
  /** Events in the kept segments. */
  event_count: z.number().int().nonnegative(),
  files: z.array(bundleFileSchema),
});
export type BundleBaseRef = z.infer<typeof bundleBaseRefSchema>;

/** `manifest.json`: what the bundle holds, with a checksum for each file. */
export const bundleManifestSchema = z.looseObject({
  format: z.literal(BUNDLE_FORMAT),
  /** 1: a full bundle; 2: a delta bundle (with `base`). */
  version: z.union([z.literal(BUNDLE_VERSION), z.literal(DELTA_BUNDLE_VERSION)]),
  /** This bundle's own id, so a receiver can tell two exports of one conversation apart. */
  bundle_id: z.string().regex(UUID, 'must be a lowercase UUID'),
  conversation_id: z.string().regex(UUID, 'must be a lowercase UUID with dashes'),
  created_at: z.iso.datetime(),
  /** Events in all of `events/segment-*.jsonl` together (with a `base`, once it is applied). */
  event_count: z.number().int().nonnegative(),
  /** Present in a delta bundle (version 2) only: what the destination must already hold. */
  base: bundleBaseRefSchema.optional(),
  /** Whether the files under `workspace/` are the workspace (all of it that was not ignored). */
  includes_workspace: z.boolean(),
  files: z.array(bundleFileSchema).superRefine((files, context) => {
    const seen = new Set<string>();
    for (const [index, file] of files.entries()) {
      if (seen.has(file.path)) {
        context.addIssue({
          code: 'custom',
          message: `"${file.path}" is listed twice`,
          path: [index],
        });
      }
      seen.add(file.path);
      if (file.path === MANIFEST_FILE || file.path === '.lock') {
        context.addIssue({
          code: 'custom',
          message: `"${file.path}" cannot be listed`,
          path: [index],
        });
      }
    }
    // A file cannot also be a folder of another file.
    for (const [index, file] of files.entries()) {
      const segments = file.path.split('/');
      for (let depth = 1; depth < segments.length; depth += 1) {
        const folder = segments.slice(0, depth).join('/');
        if (seen.has(folder)) {
          context.addIssue({
            code: 'custom',
            message: `"${file.path}" is inside "${folder}", which is listed as a file`,
            path: [index],
          });
        }
      }
    }
  }),
});
export type BundleManifest = z.infer<typeof bundleManifestSchema>;

/** Progress of an export or an import, reported as files go by. */
export interface BundleProgress {
  /** What is being copied: the event log, the other conversation files, or the workspace. */
  phase: 'events' | 'files' | 'workspace';
  /** File bytes done so far, all phases together. */
  bytes: number;
  /** File bytes in the whole bundle, when known. */
  totalBytes?: number;
  /** Events done so far. */
  events?: number;
}

/**
 * Validates a parsed `manifest.json`. Throws `BundleFormatError` naming the problem: not a Ferry
 * bundle, a version this Ferry cannot read, or an invalid field.
 */
export function parseBundleManifest(value: unknown): BundleManifest {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw manifestError('it is not a JSON object');
  }
  const { format, version } = value as Record<string, unknown>;
  if (format !== BUNDLE_FORMAT) {
    throw manifestError(
      `"format" is ${JSON.stringify(format) ?? 'missing'}, not "${BUNDLE_FORMAT}": this is not a ` +
        'Ferry conversation bundle',
    );
  }
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw manifestError(`"version" must be a positive integer, got ${JSON.stringify(version)}`);
  }
  if (version > DELTA_BUNDLE_VERSION) {
    throw manifestError(
      `bundle version ${version} is newer than this Ferry reads (${DELTA_BUNDLE_VERSION}); upgrade ` +
        '@ferry/sdk-core on this side',
    );
  }
  const parsed = bundleManifestSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`,
    );
    throw manifestError(`invalid fields: ${problems.slice(0, 5).join('; ')}`);
  }
  const delta = parsed.data.version === DELTA_BUNDLE_VERSION;
  if (delta !== (parsed.data.base !== undefined)) {
    throw manifestError(
      delta
        ? 'a version 2 (delta) bundle must name its "base"'
        : 'only a version 2 bundle has a "base"',
    );
  }
  return parsed.data;
}

function manifestError(problem: string): BundleFormatError {
  return new BundleFormatError({ entry: MANIFEST_FILE, problem });
}
