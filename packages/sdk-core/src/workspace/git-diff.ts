import { z } from 'zod';

/**
 * Both sides of one file (OpenHands' `GitDiff`, as `/api/git/diff` returns it): `original` is
 * the text at `HEAD` (`null` when the file is new), `modified` the text on disk (`null` when
 * the file was deleted).
 */
export const gitDiffSchema = z.looseObject({
  original: z.string().nullable(),
  modified: z.string().nullable(),
});
export type GitDiff = z.infer<typeof gitDiffSchema>;
