import { z } from 'zod';

/**
 * The result of `Workspace.executeCommand` (OpenHands' `CommandResult`). `exit_code` is `-1`
 * when the command did not exit on its own (it was killed after its timeout); a command killed
 * by a signal reports `128 + signal number`, as shells do.
 */
export const commandResultSchema = z.looseObject({
  command: z.string(),
  exit_code: z.number().int(),
  stdout: z.string(),
  stderr: z.string(),
  timeout_occurred: z.boolean(),
});
export type CommandResult = z.infer<typeof commandResultSchema>;
