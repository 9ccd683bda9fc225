import { toolCall, type ScriptTurn } from '@ferry/sdk-core/testing';

/** The tools the scripted task uses. */
export const TASK_TOOLS = [{ name: 'terminal' }, { name: 'file_editor' }, { name: 'task_tracker' }];

/**
 * The scripted task, chosen by how many tool results the request already carries: whatever
 * point a crash left the conversation at (answered or interrupted actions alike), the next
 * request moves the task on, so `run()` can always finish it.
 */
export function taskTurn(request: { messages: readonly { role: string }[] }): ScriptTurn {
  const step = request.messages.filter((message) => message.role === 'tool').length;
  switch (step) {
    case 0:
      return toolCall('task_tracker', {
        command: 'plan',
        task_list: [{ title: 'write a.txt' }, { title: 'write b.txt' }],
      });
    case 1:
      return toolCall('file_editor', { command: 'create', path: 'a.txt', file_text: 'alpha\n' });
    case 2:
      // The slow step: a kill here lands while the tool runs.
      return toolCall('terminal', { command: 'sleep 0.3; echo slept' });
    case 3:
      return toolCall('file_editor', { command: 'create', path: 'b.txt', file_text: 'beta\n' });
    case 4:
      return toolCall('terminal', { command: 'cat a.txt b.txt' });
    default:
      return toolCall('finish', { message: 'a.txt and b.txt are written and checked.' });
  }
}
