/** Helpers shared by the conversation tests (not part of the public API). */
import type { AnyEvent } from '../event/parse-event';
import { InMemoryFileStore } from '../persistence/in-memory-file-store';
import { LocalConversation, type LocalConversationOptions } from './local-conversation';

/** A workspace descriptor for tests whose tools never touch files. */
export const testWorkspace = { kind: 'LocalWorkspace', workingDir: '/tmp/project' };

/** Opens a conversation in memory, warnings silenced; options override the defaults. */
export function openInMemory(
  options: Partial<LocalConversationOptions> & Pick<LocalConversationOptions, 'agent'>,
): Promise<LocalConversation> {
  return LocalConversation.open({
    workspace: testWorkspace,
    store: new InMemoryFileStore(),
    onWarning: () => undefined,
    ...options,
  });
}

/** The events a user reads in a timeline: without state updates. */
export function timeline(events: Iterable<AnyEvent>): AnyEvent[] {
  return [...events].filter((event) => event.kind !== 'ConversationStateUpdateEvent');
}
