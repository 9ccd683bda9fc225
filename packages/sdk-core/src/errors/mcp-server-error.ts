import { FerryError, isFerryErrorNamed } from './ferry-error';

/**
 * Why an MCP server could not be used; stable values a caller can switch on:
 * `invalid_config` (its entry in `mcp_config` is malformed), `start_failed` (the command could
 * not be started, e.g. not found), `handshake_failed` (it exited or refused the MCP
 * handshake), `timeout` (no handshake within the connect timeout), `aborted` (the caller's
 * signal), `list_tools_failed` (it connected but listing its tools failed), `closed` (the
 * provider was closed).
 */
export type McpServerErrorReason =
  | 'invalid_config'
  | 'start_failed'
  | 'handshake_failed'
  | 'timeout'
  | 'aborted'
  | 'list_tools_failed'
  | 'closed';

const SUMMARY: Record<McpServerErrorReason, string> = {
  invalid_config: 'is not configured correctly',
  start_failed: 'could not be started',
  handshake_failed: 'failed the MCP handshake',
  timeout: 'did not complete the MCP handshake in time',
  aborted: 'was not connected: the connection was aborted',
  list_tools_failed: 'could not list its tools',
  closed: 'is closed: its McpToolProvider was closed',
};

/** An MCP server of `mcp_config` failed to start, connect or answer; names the server. */
export class McpServerError extends FerryError {
  constructor(
    readonly server: string,
    readonly reason: McpServerErrorReason,
    readonly detail: string,
    options: { cause?: unknown } = {},
  ) {
    super(
      'MCP_SERVER_ERROR',
      `MCP server "${server}" ${SUMMARY[reason]}${detail ? `: ${detail}` : '.'}`,
      options,
    );
  }

  static override isInstance(value: unknown): value is McpServerError {
    return isFerryErrorNamed(value, 'McpServerError');
  }

  protected override details() {
    return { server: this.server, reason: this.reason, detail: this.detail };
  }
}
