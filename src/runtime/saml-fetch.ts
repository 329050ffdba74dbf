/**
 * The network of IdP metadata fetching (docs/spec/saml.md §12.1) for the `MetadataTransport` interface:
 * the host is resolved once (system resolver, every address), the core vets every address, and the
 * request then connects to the vetted address itself — no second resolution — with TLS verified
 * against the system trust store for the URL's host name (SNI and certificate check). Redirects
 * are never followed (node:http does not follow them).
 */
import { lookup } from "node:dns/promises";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP } from "node:net";
import { Readable } from "node:stream";
import type { MetadataTransport } from "../saml/metadata.ts";

function toResponse(res: IncomingMessage): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const status = res.statusCode ?? 502;
  // Response rejects bodies for 1xx/204/304; a body is irrelevant for non-200 answers anyway.
  const noBody = status === 204 || status === 304 || status < 200;
  if (noBody) res.resume();
  const body = noBody ? null : (Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>);
  return new Response(body, { status: status < 200 || status > 599 ? 502 : status, headers });
}

export function createMetadataTransport(): MetadataTransport {
  return {
    async resolve(hostname) {
      const found = await lookup(hostname, { all: true, verbatim: true });
      return found.map((a) => a.address);
    },
    get(url, address, signal) {
      return new Promise<Response>((resolve, reject) => {
        const host = url.hostname.replace(/^\[|\]$/g, "");
        const secure = url.protocol === "https:";
        const options = {
          host: address,
          port: url.port === "" ? (secure ? 443 : 80) : Number(url.port),
          path: `${url.pathname}${url.search}`,
          method: "GET",
          headers: {
            host: url.host,
            accept: "application/samlmetadata+xml, application/xml;q=0.9, text/xml;q=0.8",
            "user-agent": "tikti-saml-metadata",
          },
          signal,
          // TLS: SNI and the certificate's name are checked against the URL host, not the address.
          ...(secure && isIP(host) === 0 ? { servername: host } : {}),
        };
        const req = (secure ? httpsRequest : httpRequest)(options, (res) => resolve(toResponse(res)));
        req.on("error", reject);
        req.end();
      });
    },
  };
}
