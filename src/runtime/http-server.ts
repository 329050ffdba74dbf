/**
 * The HTTP/1.1 server of all three runtimes: `node:http` with @hono/node-server's request listener.
 * Bun and Deno run it through their Node compatibility layers, because their native servers cannot
 * enforce the connection limits of docs/spec/operations.md §2.2 (`http.*`): Deno.serve has no header, body or
 * keep-alive deadline and no header size limit, and Bun.serve has only one idle timeout that every
 * byte of a slow header resets (docs/adr/0025-one-http-server-on-every-runtime.md has the
 * measurements and the cost).
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import { getRequestListener } from "@hono/node-server";
import type { ConnectionState, RunningServer, ServeOptions } from "./adapter.ts";

/**
 * How often node:http checks the header and request deadlines of open connections. Node's default
 * (30 s) let a slow header live 32 s past a 10 s limit; a quarter of the header deadline, within
 * 250 ms–1 s, keeps the overshoot small for the cost of one pass over the open connections.
 */
export function connectionsCheckingIntervalMs(headersTimeoutSeconds: number): number {
  return Math.min(1000, Math.max(250, (headersTimeoutSeconds * 1000) / 4));
}

/** Sockets whose request deadline passed: their unfinished request is logged as a 408. */
const timedOut = new WeakSet<Duplex>();

/** The fixed answers node:http writes itself when it refuses a connection (no body, then close). */
const CLIENT_ERROR_RESPONSES: Record<string, string> = {
  HPE_HEADER_OVERFLOW: "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n",
  HPE_CHUNK_EXTENSIONS_OVERFLOW: "HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n\r\n",
  ERR_HTTP_REQUEST_TIMEOUT: "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n",
};
const BAD_REQUEST = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n";

/** Why node:http refused a connection before any request reached the app, for the log. */
export function refusalReason(
  code: string | undefined,
): "timeout" | "header too large" | "malformed" | undefined {
  if (code === "ERR_HTTP_REQUEST_TIMEOUT") return "timeout";
  if (code === "HPE_HEADER_OVERFLOW") return "header too large";
  // Parser errors; socket errors (ECONNRESET, EPIPE, ...) are a peer leaving, not a refusal.
  if (code?.startsWith("HPE_")) return "malformed";
  return undefined;
}

/**
 * node:http's own reaction to a client error (an answer, then close), kept as is, with two
 * additions: the socket of an expired request deadline is remembered so that the request still
 * running on it reports a timeout instead of a client disconnect, and a connection refused before
 * any request reached the app (slow or oversized headers, garbage) is reported, since the access
 * log never sees it.
 */
function clientErrorHandler(onRefused: ServeOptions["onConnectionRefused"]) {
  return (err: NodeJS.ErrnoException, socket: Duplex): void => {
    if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") timedOut.add(socket);
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    const reason = refusalReason(err.code);
    if (reason && !inFlight) {
      const { remoteAddress = "", remotePort = 0 } = socket as Socket;
      onRefused?.({ reason, remoteAddr: remoteAddress, remotePort });
    }
    if (socket.writable && !inFlight?.headersSent) {
      socket.write(CLIENT_ERROR_RESPONSES[err.code ?? ""] ?? BAD_REQUEST);
    }
    socket.destroy();
  };
}

function connectionState(incoming: Pick<IncomingMessage, "socket" | "errored">): ConnectionState {
  return {
    closed() {
      const socket = incoming.socket;
      if (socket && timedOut.has(socket)) return "timeout";
      // `destroyed`: the socket is gone; `errored`: the body stream failed (ECONNRESET mid-body).
      if (socket?.destroyed || incoming.errored) return "client";
      return undefined;
    },
  };
}

export function serveHttp(options: ServeOptions): Promise<RunningServer> {
  const listener = getRequestListener((req, env) =>
    options.fetch(req, {
      remoteAddr: env.incoming.socket.remoteAddress ?? "",
      connection: connectionState(env.incoming),
    }),
  );
  // node:http refuses a header deadline longer than the request deadline; the request deadline
  // covers the headers too, so the shorter one is the effective header limit anyway.
  const headersTimeoutSeconds = Math.min(options.headersTimeoutSeconds, options.requestTimeoutSeconds);
  const server = createServer(
    {
      headersTimeout: headersTimeoutSeconds * 1000,
      requestTimeout: options.requestTimeoutSeconds * 1000,
      keepAliveTimeout: options.keepAliveTimeoutSeconds * 1000,
      connectionsCheckingInterval: connectionsCheckingIntervalMs(headersTimeoutSeconds),
      maxHeaderSize: options.maxHeaderBytes,
    },
    listener,
  );
  server.on("clientError", clientErrorHandler(options.onConnectionRefused));
  const listen = { port: options.port, host: options.hostname, reusePort: options.reusePort ?? false };
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen, () => {
      server.off("error", reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        stop: (graceMs) =>
          new Promise<void>((done) => {
            const force = setTimeout(() => server.closeAllConnections(), graceMs);
            server.close(() => {
              clearTimeout(force);
              done();
            });
            server.closeIdleConnections();
          }),
      });
    });
  });
}
