import { z } from 'zod';
import { apiRegistry } from '../schemas/api-registry';

/** Seconds a command may run when the request gives no timeout, as in OpenHands. */
export const DEFAULT_BASH_TIMEOUT_SECONDS = 300;

/** Body of `execute_bash_command` and `start_bash_command` (OpenHands' `ExecuteBashRequest`). */
export const executeBashRequestSchema = z
  .object({
    command: z.string().describe('The bash command to execute.'),
    cwd: z
      .string()
      .nullish()
      .describe('Directory to run in, inside the workspace root; defaults to the root.'),
    timeout: z
      .number()
      .int()
      .positive()
      .default(DEFAULT_BASH_TIMEOUT_SECONDS)
      .describe('Seconds before the command and everything it started are killed.'),
  })
  .register(apiRegistry, { id: 'ExecuteBashRequest' });
export type ExecuteBashRequest = z.infer<typeof executeBashRequestSchema>;

/** A command that was started (OpenHands' `BashCommand`). */
export const bashCommandSchema = z
  .object({
    kind: z.literal('BashCommand'),
    id: z.string(),
    timestamp: z.string().describe('ISO-8601, UTC.'),
    command: z.string(),
    cwd: z.string().nullable().describe('Absolute directory the command runs in.'),
    timeout: z.number().int(),
  })
  .register(apiRegistry, { id: 'BashCommand' });
export type BashCommand = z.infer<typeof bashCommandSchema>;

/**
 * A piece of a command's output (OpenHands' `BashOutput`), numbered by `order` from 0. The
 * last piece has the `exit_code` (`-1` after a timeout); `null` means the command still runs.
 */
export const bashOutputSchema = z
  .object({
    kind: z.literal('BashOutput'),
    id: z.string(),
    timestamp: z.string().describe('ISO-8601, UTC.'),
    command_id: z.string(),
    order: z.number().int().nonnegative(),
    exit_code: z.number().int().nullable(),
    stdout: z.string().nullable(),
    stderr: z.string().nullable(),
  })
  .register(apiRegistry, { id: 'BashOutput' });
export type BashOutput = z.infer<typeof bashOutputSchema>;

export const bashEventSchema = z.discriminatedUnion('kind', [bashCommandSchema, bashOutputSchema]);
export type BashEvent = z.infer<typeof bashEventSchema>;

export const bashEventKindSchema = z.enum(['BashCommand', 'BashOutput']);
export type BashEventKind = z.infer<typeof bashEventKindSchema>;

export const bashEventSortOrderSchema = z.enum(['TIMESTAMP', 'TIMESTAMP_DESC']);
export type BashEventSortOrder = z.infer<typeof bashEventSortOrderSchema>;

/** One page of `bash_events/search`; pass `next_page_id` back as `page_id` for the next. */
export const bashEventPageSchema = z
  .object({
    items: z.array(bashEventSchema),
    next_page_id: z.string().nullable(),
  })
  .register(apiRegistry, { id: 'BashEventPage' });
export type BashEventPage = z.infer<typeof bashEventPageSchema>;

const ZONE_SUFFIX = /(?:Z|[+-]\d{2}:?\d{2})$/i;
const HAS_TIME = /[T ]\d{2}:\d{2}/;

/** A query timestamp as epoch milliseconds; one without a zone is UTC, as OpenHands stores it. */
const timestampQuerySchema = z.string().transform((text, context) => {
  const zoned = HAS_TIME.test(text) && !ZONE_SUFFIX.test(text) ? `${text}Z` : text;
  const milliseconds = Date.parse(zoned);
  if (Number.isNaN(milliseconds)) {
    context.addIssue({ code: 'custom', message: 'Expected an ISO-8601 timestamp.' });
    return z.NEVER;
  }
  return milliseconds;
});

/** Query of `bash_events/search`. */
export const bashEventSearchQuerySchema = z.object({
  kind__eq: bashEventKindSchema.optional(),
  command_id__eq: z.string().optional().describe('Only the output of this command.'),
  timestamp__gte: timestampQuerySchema.optional(),
  timestamp__lt: timestampQuerySchema.optional(),
  order__gt: z.coerce
    .number()
    .int()
    .optional()
    .describe('Only output pieces whose order is greater (commands are kept).'),
  sort_order: bashEventSortOrderSchema.default('TIMESTAMP'),
  page_id: z
    .string()
    .regex(/^\d+$/, 'Expected a next_page_id returned by a previous search.')
    .optional(),
  limit: z.coerce.number().int().positive().max(100).default(100),
});
export type BashEventSearchQuery = z.infer<typeof bashEventSearchQuerySchema>;
