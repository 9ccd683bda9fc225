import { FerryError, isFerryErrorNamed } from './ferry-error';

/** What the exported bundle held: its event count and last event id (either may be checked). */
export interface ExportedExtent {
  eventCount?: number | undefined;
  lastEventId?: string | undefined;
}

/**
 * The conversation could not be parked after a teleport: events were appended between the
 * export of its bundle and the parking, so the bundle would leave them behind. It stays here,
 * runnable; export it again and retry.
 */
export class ConversationChangedSinceExportError extends FerryError {
  constructor(
    readonly conversationId: string,
    readonly expected: ExportedExtent,
    readonly actual: { eventCount: number; lastEventId: string | undefined },
  ) {
    super(
      'BUNDLE_SOURCE_CHANGED',
      `Conversation ${conversationId} changed since its bundle was exported (the bundle holds ` +
        `${expected.eventCount ?? 'an unknown number of'} events up to ` +
        `${expected.lastEventId ?? 'an unknown event'}, it now has ${actual.eventCount} up to ` +
        `${actual.lastEventId ?? 'none'}); it was not parked and stays here. Export it again.`,
    );
  }

  static override isInstance(value: unknown): value is ConversationChangedSinceExportError {
    return isFerryErrorNamed(value, 'ConversationChangedSinceExportError');
  }

  protected override details() {
    return {
      conversation_id: this.conversationId,
      expected_event_count: this.expected.eventCount ?? null,
      expected_last_event_id: this.expected.lastEventId ?? null,
      event_count: this.actual.eventCount,
      last_event_id: this.actual.lastEventId ?? null,
    };
  }
}
