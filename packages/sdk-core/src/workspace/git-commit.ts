import { z } from 'zod';

/** One commit of a repository's history (OpenHands' `GitCommit`). */
export const gitCommitSchema = z.looseObject({
  sha: z.string(),
  short_sha: z.string(),
  subject: z.string(),
  author: z.string(),
  /** ISO 8601 author date with its UTC offset (git's `%aI`). */
  timestamp: z.string(),
});
export type GitCommit = z.infer<typeof gitCommitSchema>;

/** The newest commits reachable from `HEAD`, newest first (OpenHands' `GitCommitsPage`). */
export const gitCommitsPageSchema = z.looseObject({
  commits: z.array(gitCommitSchema),
  /** Whether older commits exist beyond this page. */
  has_more: z.boolean(),
});
export type GitCommitsPage = z.infer<typeof gitCommitsPageSchema>;
