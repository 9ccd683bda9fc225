/**
 * `@ferry/sdk-core`: agents, LLM calls, events, state and durable conversations.
 *
 * @packageDocumentation
 */
export * from './errors/index';
export * from './llm/index';
export * from './agent/index';
export * from './event/index';
export * from './secrets/index';
export * from './workspace/index';
export * from './persistence/index';
export * from './store/index';
export * from './conversation/index';
export * from './tool/index';
export * from './mcp/index';
export * from './bundle/index';
export * from './openhands/index';
export * from './skills/index';
