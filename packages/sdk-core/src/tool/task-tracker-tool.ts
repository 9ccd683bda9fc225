import { z } from 'zod';
import { readJson, writeJsonAtomic } from '../persistence/json-file';
import { defineTool } from './tool-definition';

/** The file, beside the state, that holds the task list. */
export const TASKS_FILE = 'TASKS.json';

/** One task of the plan. */
export const taskItemSchema = z.object({
  title: z.string().describe('A brief title for the task.'),
  notes: z.string().default('').describe('Additional details or notes about the task.'),
  status: z
    .enum(['todo', 'in_progress', 'done'])
    .default('todo')
    .describe('The current status of the task.'),
});
export type TaskItem = z.infer<typeof taskItemSchema>;

function render(tasks: readonly TaskItem[]): string {
  if (tasks.length === 0) return 'No tasks yet. Use the "plan" command to add some.';
  const mark = { todo: '[ ]', in_progress: '[~]', done: '[x]' } as const;
  return tasks
    .map(
      (task, index) =>
        `${index + 1}. ${mark[task.status]} ${task.title}${task.notes ? `\n   ${task.notes}` : ''}`,
    )
    .join('\n');
}

/** A persistent task list for long work (OpenHands' `TaskTrackerTool`), kept in `TASKS.json`. */
export const taskTrackerTool = defineTool({
  name: 'task_tracker',
  description:
    'Keeps a structured task list for complex work. "view" shows the current list; "plan" replaces ' +
    'it with `task_list` (use it to add tasks and to update their status as you progress).',
  parameters: z.object({
    command: z.enum(['view', 'plan']).describe('"view" to see the list, "plan" to replace it.'),
    task_list: z.array(taskItemSchema).optional().describe('The full task list (for "plan").'),
  }),
  actionKind: 'TaskTrackerAction',
  observationKind: 'TaskTrackerObservation',
  async execute({ command, task_list }, context) {
    if (command === 'plan') {
      const tasks = task_list ?? [];
      await writeJsonAtomic(context.store, TASKS_FILE, tasks);
      return {
        content: `Task list updated with ${tasks.length} task(s).\n${render(tasks)}`,
        fields: { command, task_list: tasks },
      };
    }
    const stored = await readJson(context.store, TASKS_FILE);
    const tasks = z
      .array(taskItemSchema)
      .catch([])
      .parse(stored ?? []);
    return { content: render(tasks), fields: { command, task_list: tasks } };
  },
});
