/**
 * The demo's scripted story: what the scripted LLM answers at each step, so the demo runs the
 * real provider code with no network and no key. Each side of the hop is a different model;
 * the step is the number of tool results the conversation already has, so the story goes on
 * wherever the conversation runs.
 */
import { text, toolCall, type ScriptTurn } from '@ferry/sdk-core/testing';

/** Model names of the two agents. */
export const LOCAL_MODEL = 'ferry-demo-local';
export const REMOTE_MODEL = 'ferry-demo-remote';

/** The program the local agent writes, with a bug: the mean divides by n - 1. */
export const BUGGY_PROGRAM = `// stats.js: mean and max of the numbers on the command line
export function mean(values) {
  const sum = values.reduce((total, value) => total + value, 0);
  return sum / (values.length - 1);
}

export function max(values) {
  return Math.max(...values);
}

if (process.argv[1] && process.argv[1].endsWith('stats.js')) {
  const values = process.argv.slice(2).map(Number);
  console.log(\`mean=\${mean(values)} max=\${max(values)}\`);
}
`;

/** The tests the remote agent writes and runs. */
export const TEST_PROGRAM = `// stats.test.js
import assert from 'node:assert/strict';
import { mean, max } from './stats.js';

assert.equal(mean([1, 2, 3]), 2, 'mean of 1 2 3 is 2');
assert.equal(max([4, 9, 2]), 9, 'max of 4 9 2 is 9');
console.log('all tests passed');
`;

const think = (thought: string) => toolCall('think', { thought, summary: 'plan the next step' });

/** The local agent's part: write the program, run it, hand over. */
function localTurn(step: number): ScriptTurn {
  switch (step) {
    case 0:
      return toolCall('file_editor', {
        command: 'create',
        path: 'stats.js',
        file_text: BUGGY_PROGRAM,
        summary: 'write the stats program',
        security_risk: 'LOW',
      });
    case 1:
      return toolCall('terminal', {
        command: 'node stats.js 1 2 3',
        summary: 'run the program',
        security_risk: 'LOW',
      });
    case 2:
      return text(
        'stats.js is written and runs. It prints mean=3 for 1 2 3, which looks wrong; the server side can test it.',
      );
    default:
      return toolCall('finish', {
        message:
          'Done: stats.js was written here, fixed and tested on the server, and checked again here.',
      });
  }
}

/** The remote agent's part: test, find the bug, fix it, test again. */
function remoteTurn(step: number): ScriptTurn {
  switch (step) {
    case 2:
      return toolCall('file_editor', {
        command: 'create',
        path: 'stats.test.js',
        file_text: TEST_PROGRAM,
        summary: 'write tests',
      });
    case 3:
      return toolCall('terminal', { command: 'node stats.test.js', summary: 'run the tests' });
    case 4:
      return think('The mean divides by values.length - 1; it must divide by values.length.');
    case 5:
      return toolCall('file_editor', {
        command: 'str_replace',
        path: 'stats.js',
        old_str: 'return sum / (values.length - 1);',
        new_str: 'return sum / values.length;',
        summary: 'fix the mean',
      });
    case 6:
      return toolCall('terminal', {
        command: 'node stats.test.js',
        summary: 'run the tests again',
      });
    default:
      return text('Fixed the off-by-one in mean(); all tests pass on the server.');
  }
}

/** The local agent once the conversation is back: check and finish. */
function homecomingTurn(step: number): ScriptTurn {
  if (step <= 7)
    return toolCall('terminal', { command: 'node stats.js 1 2 3', summary: 'check the fix here' });
  return localTurn(99);
}

/** Picks the next turn from the request: which model asks, and how far the story is. */
export function storyTurn(request: {
  model?: string;
  messages: readonly { role: string }[];
}): ScriptTurn {
  const step = request.messages.filter((message) => message.role === 'tool').length;
  if (request.model === REMOTE_MODEL) return remoteTurn(step);
  return step < 3 ? localTurn(step) : homecomingTurn(step);
}
