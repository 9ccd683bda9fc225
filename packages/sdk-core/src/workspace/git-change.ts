import { z } from 'zod';

/** How a file differs from `HEAD` (OpenHands' `GitChangeStatus`); untracked files are `ADDED`. */
export const gitChangeStatusSchema = z.enum(['MOVED', 'ADDED', 'DELETED', 'UPDATED']);
export type GitChangeStatus = z.infer<typeof gitChangeStatusSchema>;

/**
 * One changed file (OpenHands' `GitChange`, as `/api/git/changes` returns it). `path` is
 * relative to the directory that was asked about; for `MOVED` it is the new path.
 */
export const gitChangeSchema = z.looseObject({
  status: gitChangeStatusSchema,
  path: z.string(),
});
export type GitChange = z.infer<typeof gitChangeSchema>;
