import { styleText } from 'node:util';
import type { AnyEvent } from '@ferry/sdk-core';

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

/** One readable line for an event, or undefined for events a reader does not need. */
export function describeEvent(event: AnyEvent): string | undefined {
  const e = event as AnyEvent & Record<string, unknown>;
  switch (event.kind) {
    case 'MessageEvent': {
      const message = e.llm_message as { role: string; content: unknown };
      const who = message.role === 'user' ? styleText('bold', 'user') : styleText('bold', 'agent');
      return `${who}: ${oneLine(textOf(message.content))}`;
    }
    case 'ActionEvent':
      return `${styleText('yellow', `→ ${String(e.tool_name)}`)} ${oneLine(String(e.summary ?? (e.tool_call as { arguments: string }).arguments), 80)}`;
    case 'ObservationEvent': {
      const observation = e.observation as {
        content: unknown;
        is_error?: boolean;
        exit_code?: number;
      };
      const mark = observation.is_error ? styleText('red', '✗') : styleText('green', '✓');
      const exit =
        typeof observation.exit_code === 'number' ? ` (exit ${observation.exit_code})` : '';
      return `  ${mark} ${oneLine(textOf(observation.content), 88)}${exit}`;
    }
    case 'AgentErrorEvent':
      return `  ${styleText('red', '✗')} ${oneLine(String(e.error))}`;
    case 'TeleportEvent':
      return styleText('bold', `⇄ arrived: ${String(e.from)} → ${String(e.to)}`);
    case 'ConversationErrorEvent':
      return styleText('red', `! ${String(e.code)}: ${String(e.detail)}`);
    case 'ConversationStateUpdateEvent':
      if (e.key === 'agent') {
        const model = (e.value as { llm?: { model?: string } } | undefined)?.llm?.model;
        return styleText('bold', `⚙ agent changed: now ${model ?? 'another agent'}`);
      }
      if (e.key === 'execution_status') return styleText('dim', `· status ${String(e.value)}`);
      return undefined;
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
