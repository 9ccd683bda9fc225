import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';

/** One part of a streamed `multipart/form-data` body. */
export type MultipartPart =
  | { name: string; value: string }
  | { name: string; filename: string; contentType: string; stream: Readable };

/**
 * A `multipart/form-data` body whose file parts are streamed, never held in memory whole
 * (`FormData` needs a `Blob`). Text parts come first as given, so a server reading the body as
 * a stream sees them before the file.
 */
export function multipartStream(parts: readonly MultipartPart[]): {
  contentType: string;
  body: AsyncIterable<Uint8Array>;
} {
  const boundary = `----ferry-${randomUUID()}`;
  const encoder = new TextEncoder();
  async function* body(): AsyncGenerator<Uint8Array> {
    for (const part of parts) {
      if ('value' in part) {
        // Plain text: a server may parse (and then not recognise) a part typed as JSON.
        yield encoder.encode(
          `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"\r\n\r\n`,
        );
        yield encoder.encode(part.value);
        yield encoder.encode('\r\n');
      } else {
        yield encoder.encode(
          `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"; filename="${part.filename}"\r\n` +
            `Content-Type: ${part.contentType}\r\n\r\n`,
        );
        for await (const chunk of part.stream as AsyncIterable<Uint8Array>) yield chunk;
        yield encoder.encode('\r\n');
      }
    }
    yield encoder.encode(`--${boundary}--\r\n`);
  }
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: body() };
}
