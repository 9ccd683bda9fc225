import { z } from 'zod';

/** OpenHands' state document, in the conversation folder. */
export const OPENHANDS_BASE_STATE_FILE = 'base_state.json';
/** OpenHands' agent server's record of a conversation (title, tags, times). */
export const OPENHANDS_META_FILE = 'meta.json';
/** The folder of event files, one JSON document per event. */
export const OPENHANDS_EVENTS_DIR = 'events';
/** Tool side files both sides keep in the conversation folder, copied as they are. */
export const SHARED_SIDE_FILES = ['TASKS.json', 'observations'] as const;
/**
 * What an export took out to satisfy OpenHands' models, so that importing the folder back
 * restores it. OpenHands never reads it.
 */
export const FERRY_EXPORT_FILE = 'ferry-export.json';

const EVENT_FILE = /^event-(\d{5,})-([0-9a-fA-F-]{8,})\.json$/;

/** The name of the event file at `index` (OpenHands pads the index to at least 5 digits). */
export function openHandsEventFileName(index: number, eventId: string): string {
  return `event-${String(index).padStart(5, '0')}-${eventId}.json`;
}

/** The index and event id in an event file's name, or `undefined` for another name. */
export function parseOpenHandsEventFileName(
  name: string,
): { index: number; eventId: string } | undefined {
  const match = EVENT_FILE.exec(name);
  if (match === null) return undefined;
  return { index: Number(match[1]), eventId: match[2] ?? '' };
}

/** The document in {@link FERRY_EXPORT_FILE}. */
export const ferryExportRecordSchema = z.object({
  format: z.literal('ferry-openhands-export'),
  version: z.literal(1),
  conversation_id: z.string(),
  /** Ferry-only state fields left out of `base_state.json` (`teleport`, tags OpenHands refuses). */
  state: z.record(z.string(), z.unknown()).default({}),
  /** Events the export added for OpenHands (a system prompt event); an import drops them. */
  added_events: z.array(z.string()).default([]),
  /** Fields taken out of events, by event id; an import puts them back. */
  removed_fields: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
  /** Ferry-only events written as another kind, by event id: the original event. */
  replaced_events: z
    .record(z.string(), z.looseObject({ id: z.string(), kind: z.string(), timestamp: z.string() }))
    .default({}),
});
export type FerryExportRecord = z.infer<typeof ferryExportRecordSchema>;
