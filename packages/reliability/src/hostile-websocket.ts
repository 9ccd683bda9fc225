import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

// A WebSocket client written on a bare TCP socket, so a test can do what a polite client never
// does: send frames of any size or opcode (or only their header), and stop reading altogether.

/** WebSocket opcodes. */
export const Opcode = { text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

/** How the connection ended: the close frame's code and reason, or 1006 when none came. */
export interface SocketClose {
  code: number;
  reason: string;
}

/** A raw WebSocket connection. */
export interface RawWebSocket {
  /** The HTTP status of the upgrade answer (101 when it was accepted). */
  readonly status: number;
  /** Text messages received so far, in order. */
  readonly messages: string[];
  /** Resolves once the connection has ended. */
  readonly closed: Promise<SocketClose>;
  /** Sends one frame, masked as a client must (`mask: false` to break that rule). */
  send(opcode: number, payload: Buffer | string, options?: { mask?: boolean }): void;
  /** Writes raw bytes, e.g. a frame header that announces more than will ever come. */
  writeRaw(bytes: Buffer): void;
  /** Stops reading: the kernel buffers fill, then the server's send buffer. */
  pause(): void;
  resume(): void;
  /** Resolves once `count` messages have come, or rejects when the connection ends first. */
  waitForCount(count: number): Promise<void>;
  /** Resolves once a message contains `text` (each message is looked at once), or rejects at close. */
  waitForText(text: string): Promise<void>;
  /** Cuts the TCP connection. */
  destroy(): void;
}

/** A frame's header: FIN, the opcode, the mask bit and the length, in its shortest form. */
export function frameHeader(opcode: number, length: number, masked: boolean): Buffer {
  const maskBit = masked ? 0x80 : 0;
  if (length < 126) return Buffer.from([0x80 | opcode, maskBit | length]);
  if (length < 0x10000) {
    const header = Buffer.from([0x80 | opcode, maskBit | 126, 0, 0]);
    header.writeUInt16BE(length, 2);
    return header;
  }
  const header = Buffer.alloc(10);
  header[0] = 0x80 | opcode;
  header[1] = maskBit | 127;
  header.writeBigUInt64BE(BigInt(length), 2);
  return header;
}

/** A whole client frame. */
export function clientFrame(opcode: number, payload: Buffer | string, mask = true): Buffer {
  const data = Buffer.from(payload);
  if (!mask) return Buffer.concat([frameHeader(opcode, data.length, false), data]);
  const key = randomBytes(4);
  const masked = Buffer.alloc(data.length);
  for (let index = 0; index < data.length; index += 1) {
    masked[index] = (data[index] ?? 0) ^ (key[index % 4] ?? 0);
  }
  return Buffer.concat([frameHeader(opcode, data.length, true), key, masked]);
}

/**
 * Opens `path` on the server at `baseUrl` (`http://127.0.0.1:port`) with an upgrade request, from
 * `localAddress` if given (any `127.0.0.x`), and resolves once the server has answered it.
 */
export function openRawWebSocket(
  baseUrl: string,
  path: string,
  options: { headers?: Record<string, string>; localAddress?: string } = {},
): Promise<RawWebSocket> {
  const url = new URL(baseUrl);
  const socket: Socket = connect({
    host: url.hostname,
    port: Number(url.port),
    ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
  });
  const messages: string[] = [];
  const waiters = new Set<{ check: () => void }>();
  let buffer = Buffer.alloc(0);
  let upgraded = false;
  let status = 0;
  let closeFrame: SocketClose | undefined;
  let fragments: Buffer[] = [];

  let settleUpgrade: (value: number) => void = () => undefined;
  let failUpgrade: (error: Error) => void = () => undefined;
  const upgrade = new Promise<number>((resolve, reject) => {
    settleUpgrade = resolve;
    failUpgrade = reject;
  });
  const closed = new Promise<SocketClose>((resolve) => {
    socket.on('close', () => {
      const result = closeFrame ?? { code: 1006, reason: '' };
      for (const waiter of waiters) waiter.check();
      failUpgrade(new Error(`the connection closed before the upgrade (${result.code})`));
      resolve(result);
    });
  });
  socket.on('error', () => undefined);

  const parseFrames = () => {
    for (;;) {
      if (buffer.length < 2) return;
      const first = buffer[0] ?? 0;
      const second = buffer[1] ?? 0;
      let length = second & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buffer.length < 4) return;
        length = buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buffer.length < 10) return;
        length = Number(buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (buffer.length < offset + length) return;
      const payload = buffer.subarray(offset, offset + length);
      buffer = buffer.subarray(offset + length);
      const opcode = first & 0x0f;
      if (opcode === Opcode.close) {
        closeFrame = {
          code: payload.length >= 2 ? payload.readUInt16BE(0) : 1005,
          reason: payload.subarray(2).toString('utf8'),
        };
        socket.end(clientFrame(Opcode.close, payload.subarray(0, 2)));
        continue;
      }
      if (opcode === Opcode.ping) {
        socket.write(clientFrame(Opcode.pong, payload));
        continue;
      }
      if (opcode === Opcode.text || opcode === Opcode.binary || opcode === 0) {
        fragments.push(Buffer.from(payload));
        if ((first & 0x80) !== 0) {
          messages.push(Buffer.concat(fragments).toString('utf8'));
          fragments = [];
          for (const waiter of waiters) waiter.check();
        }
      }
    }
  };

  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    if (!upgraded) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buffer.subarray(0, end).toString('latin1');
      status = Number(head.split(' ')[1]);
      buffer = buffer.subarray(end + 4);
      upgraded = true;
      settleUpgrade(status);
    }
    parseFrames();
  });

  const key = randomBytes(16).toString('base64');
  const lines = [
    `GET ${path} HTTP/1.1`,
    `Host: ${url.host}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${key}`,
    'Sec-WebSocket-Version: 13',
    ...Object.entries(options.headers ?? {}).map(([name, value]) => `${name}: ${value}`),
  ];
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);

  const waitUntil = (done: () => boolean) =>
    new Promise<void>((resolve, reject) => {
      const waiter = {
        check: () => {
          if (done()) {
            waiters.delete(waiter);
            resolve();
          } else if (socket.destroyed) {
            waiters.delete(waiter);
            reject(
              new Error(
                `the socket closed (${closeFrame?.code ?? 1006} ${closeFrame?.reason ?? ''}) ` +
                  `after ${messages.length} messages`,
              ),
            );
          }
        },
      };
      waiters.add(waiter);
      waiter.check();
    });

  return upgrade.then((answered) => ({
    status: answered,
    messages,
    closed,
    send: (opcode, payload, options = {}) => {
      socket.write(clientFrame(opcode, payload, options.mask ?? true));
    },
    writeRaw: (bytes) => {
      socket.write(bytes);
    },
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    waitForCount: (count) => waitUntil(() => messages.length >= count),
    waitForText: (text) => {
      let checked = 0;
      return waitUntil(() => {
        for (; checked < messages.length; checked += 1) {
          if (messages[checked]?.includes(text) === true) return true;
        }
        return false;
      });
    },
    destroy: () => socket.destroy(),
  }));
}
