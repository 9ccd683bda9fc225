/**
 * `@ferry/sdk-core`: agents, LLM calls, events, state and durable conversations.
 *
 * @packageDocumentation
 */
export * from './errors/index';
