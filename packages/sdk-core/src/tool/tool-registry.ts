import type { Agent } from '../agent/agent-schema';
import { FerryError } from '../errors/ferry-error';
import type { ToolDefinition } from './tool-definition';

/** Default tools are listed in `include_default_tools` by their OpenHands class names. */
const DEFAULT_TOOL_CLASSES: Record<string, string> = {
  FinishTool: 'finish',
  ThinkTool: 'think',
};

/** Tools known by name; an agent references them by name. */
export class ToolRegistry {
  readonly #tools = new Map<string, ToolDefinition>();

  constructor(tools: Iterable<ToolDefinition> = []) {
    for (const tool of tools) this.register(tool);
  }

  /** Adds (or replaces) a tool. */
  register(tool: ToolDefinition): this {
    this.#tools.set(tool.name, tool);
    return this;
  }

  get(name: string): ToolDefinition | undefined {
    return this.#tools.get(name);
  }

  get names(): string[] {
    return [...this.#tools.keys()];
  }

  /** A registry with this one's tools plus `tools`. */
  with(tools: Iterable<ToolDefinition>): ToolRegistry {
    return new ToolRegistry([...this.#tools.values(), ...tools]);
  }

  /**
   * The tools an agent offers, in order: its explicit tools, then its default tools, filtered
   * by `filter_tools_regex`. An unknown name is a `FerryError` (`UNKNOWN_TOOL`) listing what is
   * registered.
   */
  resolve(agent: Agent): ToolDefinition[] {
    const names = [
      ...agent.tools.map((tool) => tool.name),
      ...agent.include_default_tools.map((name) => DEFAULT_TOOL_CLASSES[name] ?? name),
    ];
    const filter = agent.filter_tools_regex ? new RegExp(agent.filter_tools_regex) : undefined;
    const resolved: ToolDefinition[] = [];
    for (const name of new Set(names)) {
      const tool = this.#tools.get(name);
      if (tool === undefined) {
        throw new FerryError(
          'UNKNOWN_TOOL',
          `The agent offers the tool "${name}", which is not registered. Registered tools: ` +
            `${this.names.join(', ') || '(none)'}. Pass it in the conversation's \`tools\` option.`,
        );
      }
      if (filter === undefined || filter.test(name)) resolved.push(tool);
    }
    return resolved;
  }
}
