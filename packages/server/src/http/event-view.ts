import {
  openHandsStateFields,
  toOpenHandsEvent,
  type ConversationState,
  type StoredEvent,
} from '@ferry/sdk-core';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * How events are served. `openhands` (the default): each event made valid under OpenHands'
 * models, which forbid unknown fields (Ferry-only fields left out, a `TeleportEvent` served as a
 * state update; see `toOpenHandsEvent`). `full`: events exactly as stored, for Ferry's own
 * clients, asked for with the query parameter `ferry_events=full` or the header
 * `X-Ferry-Events: full`.
 */
export type EventView = 'openhands' | 'full';

/** The query parameter and header value that ask for {@link EventView} `full`. */
export const FULL_EVENTS = 'full';

/** The view a request asked for. */
export function requestedEventView(request: FastifyRequest): EventView {
  // Read from the URL itself: a route's query schema drops parameters it does not name.
  const query = new URLSearchParams(request.url.split('?')[1] ?? '');
  const header = request.headers['x-ferry-events'];
  return query.get('ferry_events') === FULL_EVENTS || header === FULL_EVENTS ? 'full' : 'openhands';
}

/** One event as served in `view`. */
export function viewEvent(event: StoredEvent, view: EventView): StoredEvent {
  return view === 'full' ? event : toOpenHandsEvent(event).event;
}

/** The state-update key of a whole-state snapshot, as OpenHands names it. */
export const FULL_STATE_KEY = 'full_state';

/**
 * The snapshot OpenHands' server sends each new events subscriber before anything else: a
 * `ConversationStateUpdateEvent` with key `full_state` and the state as its `ConversationState`
 * dumps it (fields without a value left out). In view `openhands` the value holds only the
 * fields of OpenHands' model; in view `full` the whole state. `state` must be redacted.
 */
export function stateSnapshotEvent(state: ConversationState, view: EventView): StoredEvent {
  const fields = view === 'full' ? undefined : new Set(openHandsStateFields);
  const value: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(state)) {
    if (field === null || field === undefined) continue;
    if (fields === undefined || fields.has(key)) value[key] = field;
  }
  return {
    id: randomUUID(),
    timestamp: new Date().toISOString(),
    source: 'environment',
    kind: 'ConversationStateUpdateEvent',
    key: FULL_STATE_KEY,
    value,
  };
}

type Projection = (payload: unknown, view: EventView) => unknown;

const one: Projection = (payload, view) => viewEvent(payload as StoredEvent, view);
const list: Projection = (payload, view) =>
  (payload as (StoredEvent | null)[]).map((event) => (event === null ? null : one(event, view)));
const page: Projection = (payload, view) => {
  const answer = payload as { items: StoredEvent[] };
  return { ...answer, items: list(answer.items, view) };
};

/** The OpenHands routes that answer events, by method and route, with where the events are. */
const EVENT_ROUTES: Readonly<Record<string, Projection>> = {
  'GET /api/conversations/:conversation_id/events/search': page,
  'GET /api/conversations/:conversation_id/events/:event_id': one,
  'GET /api/conversations/:conversation_id/events': list,
};

/**
 * Serves the events of the OpenHands event routes in the view each request asks for. Routes
 * keep returning events as stored; the projection happens once, just before serialisation.
 */
export function eventViewHook(app: FastifyInstance): void {
  app.addHook('preSerialization', (request, reply, payload, done) => {
    const project = EVENT_ROUTES[`${request.method} ${request.routeOptions.url ?? ''}`];
    if (project === undefined || reply.statusCode !== 200) {
      done(null, payload);
      return;
    }
    done(null, project(payload, requestedEventView(request)));
  });
}
