import WebSocket from 'ws';
import { epochMs } from './stats';

/** How a WebSocket connection ended. */
export interface WebSocketClose {
  /** The close code the server sent; 1006 when the connection ended without a close frame. */
  code: number;
  reason: string;
}

/** A subscriber: frames come to `onText`, each with the time it arrived. */
export interface WebSocketSubscriber {
  /** Resolves once the connection has ended, however it ended. */
  readonly closed: Promise<WebSocketClose>;
  /** Sends a close frame (1000) and ends the connection. */
  close(): void;
}

/**
 * Opens a WebSocket to `url` (`ws://127.0.0.1:PORT/...`) with `ws`: no compression and no
 * reconnection, so a subscriber that is dropped stays dropped and every event it misses shows.
 * `onText` gets each message and the time (`epochMs`) it arrived.
 */
export function openWebSocket(
  url: string,
  onText: (text: string, receivedAt: number) => void,
): Promise<WebSocketSubscriber> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    const closed = new Promise<WebSocketClose>((done) => {
      socket.once('close', (code, reason) => done({ code, reason: reason.toString('utf8') }));
    });
    socket.on('message', (data: WebSocket.RawData) => {
      const receivedAt = epochMs();
      const text = Array.isArray(data)
        ? Buffer.concat(data).toString('utf8')
        : Buffer.from(data as ArrayBuffer).toString('utf8');
      onText(text, receivedAt);
    });
    socket.once('unexpected-response', (_request, response) => {
      response.resume();
      socket.terminate();
      reject(new Error(`openWebSocket: ${url} answered HTTP ${response.statusCode}, not 101`));
    });
    socket.once('error', reject);
    socket.once('open', () => {
      socket.on('error', () => undefined);
      resolve({ closed, close: () => socket.close(1000) });
    });
  });
}
