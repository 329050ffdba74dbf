/**
 * Raw TCP clients for HTTP timing tests: nothing between the test and the server buffers, retries
 * or times out on its own, so the server's deadlines are what is measured.
 */
import { connect, type Socket } from "node:net";

export interface Raw {
  socket: Socket;
  received: () => string;
  /** The client side's port (kept: a closed socket forgets it); the server logs it as remotePort. */
  localPort: number;
  /** Seconds from the connection until the server closed it. */
  closed: Promise<number>;
  start: number;
}

export function rawConnect(port: number): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let data = "";
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => {
      data += d;
    });
    socket.on("error", () => {});
    socket.once("connect", () => {
      const start = performance.now();
      const closed = new Promise<number>((r) =>
        socket.once("close", () => r((performance.now() - start) / 1000)),
      );
      resolve({ socket, received: () => data, closed, start, localPort: socket.localPort ?? 0 });
    });
    socket.once("error", reject);
  });
}

/** Writes one byte of `text` every `everyMs` until the text ends or the socket closes. */
export function trickle(socket: Socket, text: string, everyMs: number): void {
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || i >= text.length) {
      clearInterval(timer);
      return;
    }
    socket.write(text[i++]!);
  }, everyMs);
  socket.once("close", () => clearInterval(timer));
}

/** Stops waiting for a close after `seconds` (the test then fails on the upper bound). */
export async function closedWithin(raw: Raw, seconds: number): Promise<number> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const cap = new Promise<number>((r) => {
    timer = setTimeout(() => {
      raw.socket.destroy();
      r(Number.POSITIVE_INFINITY);
    }, seconds * 1000);
  });
  const t = await Promise.race([raw.closed, cap]);
  clearTimeout(timer);
  return t;
}
