import { z } from 'zod';

/** What a directory entry is; a symlink is reported as such, not followed. */
export const fileTypeSchema = z.enum(['file', 'directory', 'symlink', 'other']);
export type FileType = z.infer<typeof fileTypeSchema>;

/** Facts about one file, as `Workspace.stat` returns them. `modified_at` is ISO-8601 UTC. */
export const fileStatSchema = z.looseObject({
  path: z.string(),
  type: fileTypeSchema,
  size: z.number().int().nonnegative(),
  modified_at: z.string(),
});
export type FileStat = z.infer<typeof fileStatSchema>;

/** One entry of `Workspace.listFiles`: its name and a stat of it (`path` is absolute). */
export const fileEntrySchema = fileStatSchema.extend({ name: z.string() });
export type FileEntry = z.infer<typeof fileEntrySchema>;
