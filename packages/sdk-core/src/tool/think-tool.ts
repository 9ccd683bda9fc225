import { z } from 'zod';
import { defineTool } from './tool-definition';

/** Lets the agent reason in the log without acting (OpenHands' `ThinkTool`). */
export const thinkTool = defineTool({
  name: 'think',
  description:
    'Use the tool to think about something. It will not obtain new information or change anything, ' +
    'but just log the thought. Use it when complex reasoning or brainstorming is needed.',
  parameters: z.object({
    thought: z.string().describe('The thought to log.'),
  }),
  actionKind: 'ThinkAction',
  observationKind: 'ThinkObservation',
  readOnly: true,
  execute: () => Promise.resolve({ content: 'Your thought has been logged.' }),
});
