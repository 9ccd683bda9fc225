import { text, toolCall, type ScriptTurn } from '@ferry/sdk-core/testing';

/** The tools of the travelling task (what `teleport-crash-child.js` gives its agent). */
export const TELEPORT_TASK_TOOLS = [{ name: 'terminal' }, { name: 'task_tracker' }];

/** The user's message that asks to finish whatever is left (what a user sends after a crash). */
export const FINISH_MESSAGE = 'Finish the task.';

const STEPS = 5;

function step(index: number): ScriptTurn {
  if (index === 0) {
    return toolCall('task_tracker', {
      command: 'plan',
      task_list: [{ title: 'travel and come back' }],
    });
  }
  return toolCall('terminal', { command: `echo step-${index}` });
}

function said(message: { content?: unknown }): string {
  return JSON.stringify(message.content ?? '');
}

/**
 * The travelling task, chosen by the user's newest instruction and the tool results so far:
 * "Part one." does steps 0-1 and stops, "Part two." steps 2-3, "Finish the task." whatever is
 * left and then `finish`. Whatever point a crash left the conversation at, the next request
 * moves it on, so `run()` after a finish message always ends it.
 */
export function teleportTaskTurn(request: {
  messages: readonly { role: string; content?: unknown }[];
}): ScriptTurn {
  const done = request.messages.filter((message) => message.role === 'tool').length;
  const instruction = [...request.messages]
    .reverse()
    .find(
      (message) =>
        message.role === 'user' && /Part one|Part two|Finish the task/.test(said(message)),
    );
  const wording = instruction === undefined ? '' : said(instruction);
  if (wording.includes('Part one')) return done < 2 ? step(done) : text('Part one done.');
  if (wording.includes('Part two')) return done < 4 ? step(done) : text('Part two done.');
  return done < STEPS ? step(done) : toolCall('finish', { message: 'Every step is done.' });
}
