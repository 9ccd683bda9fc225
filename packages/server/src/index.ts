/**
 * `@ferry/server`: the Ferry agent server, embeddable with {@link startServer} or run as the
 * `ferry-server` CLI.
 *
 * @packageDocumentation
 */
export { startServer } from './server';
export type { FerryServer, ServerInfo, StartServerOptions } from './server';
