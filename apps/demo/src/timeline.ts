import { styleText } from 'node:util';
import { isKnownEvent, type AnyEvent } from '@ferry/sdk-core';

/** Where a stretch of the conversation ran. */
export type Place = 'LOCAL' | 'REMOTE';

const placeStyle = { LOCAL: 'cyan', REMOTE: 'magenta' } as const;

function textOf(content: unknown): string {
  if (!Array.isArray(content)) return typeof content === 'string' ? content : '';
  return content
    .map((part: { type?: string; text?: string }) =>
      part.type === 'text' ? (part.text ?? '') : '',
    )
    .join('');
}

function oneLine(value: string, width = 96): string {
  const line = value.replace(/\s+/g, ' ').trim();
  return line.length > width ? `${line.slice(0, width - 1)}…` : line;
}

/**
 * Where a conversation was, for a reader: a teleport names a folder as a `file://host/path` URL,
 * printed as the folder and the host; servers keep their URL.
 */
export function describePlace(place: string): string {
  if (!place.startsWith('file:')) return place;
  try {
    const url = new URL(place);
    const folder = decodeURIComponent(url.pathname);
    return url.hostname === '' ? folder : `${folder} on ${url.hostname}`;
  } catch {
    return place;
  }
}

/** One readable line for an event, or undefined for events a reader does not need. */
export function describeEvent(event: AnyEvent): string | undefined {
  if (!isKnownEvent(event)) return undefined;
  switch (event.kind) {
    case 'MessageEvent': {
      const who = styleText('bold', event.llm_message.role === 'user' ? 'user' : 'agent');
      return `${who}: ${oneLine(textOf(event.llm_message.content))}`;
    }
    case 'ActionEvent': {
      const what = event.summary ?? event.tool_call.arguments;
      return `${styleText('yellow', `→ ${event.tool_name}`)} ${oneLine(what, 80)}`;
    }
    case 'ObservationEvent': {
      const observation = event.observation as {
        content?: unknown;
        is_error?: boolean;
        exit_code?: unknown;
      };
      // A command that exited non-zero failed, even though the tool call itself worked.
      const failed =
        observation.is_error === true ||
        (typeof observation.exit_code === 'number' && observation.exit_code !== 0);
      const mark = failed ? styleText('red', '✗') : styleText('green', '✓');
      const exit =
        typeof observation.exit_code === 'number' ? ` (exit ${observation.exit_code})` : '';
      return `  ${mark} ${oneLine(textOf(observation.content), 88)}${exit}`;
    }
    case 'AgentErrorEvent':
      return `  ${styleText('red', '✗')} ${oneLine(event.error)}`;
    case 'TeleportEvent':
      return styleText(
        'bold',
        `⇄ arrived: ${describePlace(event.from)} → ${describePlace(event.to)}`,
      );
    case 'ConversationErrorEvent':
      return styleText('red', `! ${event.code}: ${event.detail}`);
    case 'ConversationStateUpdateEvent': {
      if (event.key === 'agent') {
        const model = (event.value as { llm?: { model?: string } } | undefined)?.llm?.model;
        return styleText('bold', `⚙ agent changed: now ${model ?? 'another agent'}`);
      }
      if (event.key === 'execution_status' && typeof event.value === 'string') {
        return styleText('dim', `· status ${event.value}`);
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

/** Prints the timeline as events arrive, each line tagged with where it ran. */
export class TimelinePrinter {
  readonly counts: Record<Place, { events: number; steps: number }> = {
    LOCAL: { events: 0, steps: 0 },
    REMOTE: { events: 0, steps: 0 },
  };
  readonly #seen = new Set<string>();

  constructor(
    readonly write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  ) {}

  /** The listener for a conversation that runs at `place`. */
  listener(place: Place): (event: AnyEvent) => void {
    return (event) => {
      if (this.#seen.has(event.id)) return;
      this.#seen.add(event.id);
      this.counts[place].events += 1;
      if (event.kind === 'ActionEvent') this.counts[place].steps += 1;
      const line = describeEvent(event);
      if (line !== undefined)
        this.write(`${styleText(placeStyle[place], place.padEnd(6))} ${line}`);
    };
  }

  heading(text: string): void {
    this.write(`\n${styleText(['bold', 'underline'], text)}`);
  }

  note(text: string): void {
    this.write(styleText('dim', text));
  }
}
