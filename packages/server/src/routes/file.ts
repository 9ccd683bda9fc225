import multipart from '@fastify/multipart';
import type {} from '@fastify/swagger';
import { WorkspaceFileError } from '@ferry/sdk-core';
import type { SandboxOptions } from '@ferry/workspace-local';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { createWriteStream } from 'node:fs';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { serverErrors } from '../errors/http-status';
import { toWorkspaceFileError } from './file-system-error';
import { RouteWorkspaces } from './route-workspaces';

/** Options of {@link fileRoutes}. */
export interface FileRoutesOptions {
  /** Files are read and written only inside this folder. */
  workspaceRoot: string;
  /** Read and write files in bubblewrap sandboxes (see {@link RouteWorkspaces}). */
  sandbox?: boolean | SandboxOptions | undefined;
  /** Largest upload accepted, in bytes (413 beyond). Default 100 MiB. */
  maxUploadBytes?: number;
}

const DEFAULT_MAX_UPLOAD_BYTES = 100 * 1024 * 1024;

const TAGS = ['Files'];

const pathQuerySchema = z.object({
  path: z
    .string()
    .min(1)
    .describe('The file: an absolute path inside the workspace root, or one relative to it.'),
});

/**
 * OpenHands' `/api/file/upload` and `/api/file/download`, confined to the workspace root: a
 * path outside it (through `..`, an absolute path or a symlink) answers 403 and touches
 * nothing.
 */
export async function fileRoutes(app: FastifyInstance, options: FileRoutesOptions): Promise<void> {
  const workspaces = new RouteWorkspaces(options);
  app.addHook('onClose', () => workspaces.close());
  await app.register(multipart, {
    limits: { fileSize: options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES, files: 1 },
  });
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.post(
    '/api/file/upload',
    {
      schema: {
        tags: TAGS,
        summary: 'Upload a file',
        description:
          'A `multipart/form-data` body with one file in the field `file`; it replaces the ' +
          'file at `path` (parent folders are created) once it has arrived whole.',
        consumes: ['multipart/form-data'],
        querystring: pathQuerySchema,
        response: { 200: z.object({ success: z.literal(true) }) },
      },
    },
    async (request) => {
      const { path } = request.query;
      const target = workspaces.for(path);
      // Refuse a path outside before reading the upload.
      await target.workspace.resolvePath(target.path);
      const part = await request.file();
      if (part?.fieldname !== 'file') {
        part?.file.resume();
        throw serverErrors.uploadFileMissing();
      }
      // Staged outside the workspace so a failed or oversized upload leaves the target as it was.
      const staging = await mkdtemp(join(tmpdir(), 'ferry-upload-'));
      try {
        const staged = join(staging, 'upload');
        await pipeline(part.file, createWriteStream(staged));
        if (part.file.truncated) throw new app.multipartErrors.RequestFileTooLargeError();
        await target.workspace.uploadFile(staged, target.path);
      } finally {
        await rm(staging, { recursive: true, force: true });
      }
      return { success: true as const };
    },
  );

  routes.get(
    '/api/file/download',
    {
      schema: {
        tags: TAGS,
        summary: 'Download a file',
        querystring: pathQuerySchema,
        response: {
          200: {
            description: "The file's bytes.",
            content: {
              // `any`: the handler sends a stream, which is never serialized.
              'application/octet-stream': { schema: z.any() },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const { path } = request.query;
      const target = workspaces.for(path);
      const absolute = await target.workspace.resolvePath(target.path);
      if (target.workspace.sandboxed) {
        // Read inside the sandbox: whatever a symlink there leads to is resolved in it.
        const info = await target.workspace.stat(absolute);
        if (info.type === 'directory') {
          throw new WorkspaceFileError('download', path, 'is_a_directory');
        }
        if (info.type === 'other') throw new WorkspaceFileError('download', path, 'other');
        const bytes = await target.workspace.readFile(absolute);
        return reply
          .type('application/octet-stream')
          .header('content-disposition', attachment(basename(absolute)))
          .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      }
      const info = await stat(absolute).catch((error: unknown) => {
        throw toWorkspaceFileError('download', path, error);
      });
      if (info.isDirectory()) throw new WorkspaceFileError('download', path, 'is_a_directory');
      // Opening a FIFO or a device would block or never end.
      if (!info.isFile()) throw new WorkspaceFileError('download', path, 'other');
      const file = await open(absolute, 'r').catch((error: unknown) => {
        throw toWorkspaceFileError('download', path, error);
      });
      return reply
        .type('application/octet-stream')
        .header('content-disposition', attachment(basename(absolute)))
        .send(file.createReadStream());
    },
  );
}

/** A `Content-Disposition` naming the file, with an ASCII fallback for old clients. */
function attachment(name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
