import {
  AgentKindMismatchError,
  ConversationRunningError,
  ConversationTeleportedError,
  PathOutsideWorkspaceError,
  ToolsRemovedError,
  WorkspaceFileError,
} from '@ferry/sdk-core';
import { describe, expect, it } from 'vitest';
import { RemoteServerError } from '../errors/remote-server-error';
import { errorFromResponse } from './error-from-response';

const host = 'http://127.0.0.1:8000';

describe('errorFromResponse', () => {
  it('rebuilds the typed errors of an incompatible agent', () => {
    const removed = errorFromResponse({
      status: 422,
      body: { code: 'TOOLS_REMOVED', detail: '...', removed: ['terminal'] },
      what: 'PUT /api/conversations/x/agent',
      host,
    });
    expect(ToolsRemovedError.isInstance(removed) && removed.removed).toEqual(['terminal']);
    const mismatch = errorFromResponse({
      status: 422,
      body: {
        code: 'AGENT_KIND_MISMATCH',
        detail: '...',
        problems: [{ code: 'AGENT_KIND_MISMATCH', persisted: 'Agent', runtime: 'Other' }],
      },
      what: 'PUT /api/conversations/x/agent',
      host,
    });
    expect(mismatch).toBeInstanceOf(AgentKindMismatchError);
    expect(mismatch).toMatchObject({ persisted: 'Agent', runtime: 'Other' });
  });

  it('rebuilds conflicts with the conversation id and where it went', () => {
    const running = errorFromResponse({
      status: 409,
      body: { code: 'CONVERSATION_RUNNING', conversation_id: 'c1', operation: 'export' },
      what: 'GET /export',
      host,
    });
    expect(running).toBeInstanceOf(ConversationRunningError);
    expect(running).toMatchObject({ conversationId: 'c1', operation: 'export' });
    const teleported = errorFromResponse({
      status: 409,
      body: { code: 'CONVERSATION_TELEPORTED', conversation_id: 'c1', to: 'file://laptop/x' },
      what: 'POST /run',
      host,
    });
    expect(teleported).toBeInstanceOf(ConversationTeleportedError);
    expect(teleported).toMatchObject({ to: 'file://laptop/x' });
  });

  it('reads file errors from the status and message when the body has no reason', () => {
    const context = { path: 'a.txt', operation: 'read' };
    const missing = errorFromResponse({
      status: 404,
      body: { code: 'WORKSPACE_FILE_ERROR', detail: 'Cannot download "a.txt": it does not exist.' },
      what: 'GET /api/file/download',
      host,
      context,
    });
    expect(WorkspaceFileError.isInstance(missing) && missing.reason).toBe('not_found');
    const folder = errorFromResponse({
      status: 400,
      body: {
        code: 'WORKSPACE_FILE_ERROR',
        detail: 'Cannot download "a": it is a directory, not a file.',
      },
      what: 'GET /api/file/download',
      host,
      context,
    });
    expect(WorkspaceFileError.isInstance(folder) && folder.reason).toBe('is_a_directory');
    const outside = errorFromResponse({
      status: 403,
      body: { code: 'PATH_OUTSIDE_WORKSPACE', detail: '...' },
      what: 'GET /api/file/download',
      host,
      context,
    });
    expect(PathOutsideWorkspaceError.isInstance(outside) && outside.path).toBe('a.txt');
  });

  it('keeps anything else as a RemoteServerError with the status and the server code', () => {
    const error = errorFromResponse({
      status: 404,
      body: { code: 'CONVERSATION_NOT_FOUND', detail: 'No conversation x on this server.' },
      what: 'GET /api/conversations/x',
      host,
    });
    expect(RemoteServerError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ status: 404, serverCode: 'CONVERSATION_NOT_FOUND' });
    expect(error.message).toContain('No conversation x on this server.');
  });
});
