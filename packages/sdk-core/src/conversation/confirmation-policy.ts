import { z } from 'zod';
import { securityRiskSchema } from '../event/event-schemas';

/** Never ask before executing actions (the default). */
export const neverConfirmSchema = z.looseObject({ kind: z.literal('NeverConfirm') });
/** Ask before executing every action. */
export const alwaysConfirmSchema = z.looseObject({ kind: z.literal('AlwaysConfirm') });
/** Ask before actions at or above `threshold` risk (and unknown risk if `confirm_unknown`). */
export const confirmRiskySchema = z.looseObject({
  kind: z.literal('ConfirmRisky'),
  threshold: securityRiskSchema.default('HIGH'),
  confirm_unknown: z.boolean().default(true),
});

/** When the conversation waits for the user before executing the agent's actions. */
export const confirmationPolicySchema = z.discriminatedUnion('kind', [
  neverConfirmSchema,
  alwaysConfirmSchema,
  confirmRiskySchema,
]);
export type ConfirmationPolicy = z.infer<typeof confirmationPolicySchema>;
export type ConfirmationPolicyInput = z.input<typeof confirmationPolicySchema>;
