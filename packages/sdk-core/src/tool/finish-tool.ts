import { z } from 'zod';
import { defineTool } from './tool-definition';

/** Ends the run with a final message to the user (OpenHands' `FinishTool`). */
export const finishTool = defineTool({
  name: 'finish',
  description:
    'Signals that the task is complete (or cannot be completed) and gives the user a final message ' +
    'summarising what was done.',
  parameters: z.object({
    message: z.string().describe('Final message to the user.'),
  }),
  actionKind: 'FinishAction',
  observationKind: 'FinishObservation',
  endsRun: true,
  readOnly: true,
  execute: ({ message }) => Promise.resolve({ content: message }),
});
