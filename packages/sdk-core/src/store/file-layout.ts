/** The file that holds the state document in a conversation folder. */
export const BASE_STATE_FILE = 'base_state.json';

/** The lease (lock) file of a conversation folder. */
export const LOCK_FILE = '.lock';

/** The event log's folder in a conversation folder. */
export const EVENTS_DIR = 'events';

/** A conversation folder's name: the id's 32 hex digits. */
export const CONVERSATION_FOLDER = /^[0-9a-f]{32}$/;
