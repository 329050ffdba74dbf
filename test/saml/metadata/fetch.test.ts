import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMetadataTransport } from "../../../src/runtime/saml-fetch.ts";
import {
  checkMetadataUrl,
  type FetchRules,
  fetchMetadata,
  METADATA_MESSAGES as M,
  MetadataError,
  type MetadataTransport,
} from "../../../src/saml/metadata.ts";
import { idpMetadata, makeCert, serve, startTestServer, type TestServer } from "./helpers.ts";

const real = createMetadataTransport();

function rules(over: Partial<FetchRules> = {}): FetchRules {
  return {
    devMode: true,
    maxBytes: 64 * 1024,
    timeoutMs: 2000,
    allowPrivateHosts: [],
    transport: real,
    ...over,
  };
}

async function failure(url: string, r: FetchRules): Promise<MetadataError> {
  try {
    await fetchMetadata(url, r);
  } catch (e) {
    if (e instanceof MetadataError) return e;
    throw e;
  }
  throw new Error("fetch succeeded");
}

describe("metadata URL fetching (docs/spec/saml.md §12.1)", () => {
  let server: TestServer;
  let xml: string;
  beforeAll(async () => {
    server = await startTestServer();
    xml = idpMetadata({ signing: [await makeCert()] });
    serve(server, "/md", xml);
    server.handle("/big", (_req, res) => {
      // No Content-Length: the cap must hold while streaming.
      res.setHeader("content-type", "application/xml");
      res.write("x".repeat(40 * 1024));
      res.write("x".repeat(40 * 1024));
      res.end();
    });
    server.handle("/big-declared", (_req, res) => {
      res.setHeader("content-length", String(10 * 1024 * 1024));
      res.write("<");
    });
    server.handle("/redirect", (_req, res) => {
      res.statusCode = 302;
      res.setHeader("location", "/md");
      res.end();
    });
    server.handle("/slow", (_req, res) => {
      res.setHeader("content-type", "application/xml");
      res.write("<md:");
      // Never finishes within the timeout.
      setTimeout(() => res.end("x"), 5000).unref();
    });
  });
  afterAll(() => server.close());

  it("fetches a loopback URL in dev mode, with its query string", async () => {
    const got = await fetchMetadata(`${server.origin}/md?app=1&x=2`, rules());
    expect(new TextDecoder().decode(got.bytes)).toBe(xml);
    expect(server.seen.at(-1)!.url).toBe("/md?app=1&x=2");
  });

  it("enforces the size limit while streaming and from Content-Length", async () => {
    expect((await failure(`${server.origin}/big`, rules())).message).toBe(M.tooLarge);
    expect((await failure(`${server.origin}/big-declared`, rules())).message).toBe(M.tooLarge);
  });

  it("never follows redirects, accepts only 200, and gives up after the timeout", async () => {
    const before = server.seen.length;
    expect((await failure(`${server.origin}/redirect`, rules())).message).toBe(M.fetchFailed);
    expect(server.seen.slice(before).map((s) => s.url)).toEqual(["/redirect"]);
    expect((await failure(`${server.origin}/missing`, rules())).message).toBe(M.fetchFailed);
    const started = Date.now();
    expect((await failure(`${server.origin}/slow`, rules({ timeoutMs: 300 }))).message).toBe(M.fetchFailed);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("refuses URLs that break the rules, without echoing them", async () => {
    const cases: Array<[string, boolean, string]> = [
      [`${server.origin}/md`, false, M.urlNotAllowed], // http outside dev mode
      ["http://idp.example.com/md", true, M.urlNotAllowed], // http to a non-loopback host
      ["https://user:secret@idp.example.com/md", false, M.urlNotAllowed],
      ["https://idp.example.com/md#frag", false, M.urlNotAllowed],
      [`https://idp.example.com/${"a".repeat(2040)}`, false, M.urlNotAllowed],
      ["ftp://idp.example.com/md", false, M.urlNotAllowed],
      ["not a url", false, M.urlNotAllowed],
    ];
    for (const [url, devMode, message] of cases) {
      const e = await failure(url, rules({ devMode }));
      expect(e.message, url).toBe(message);
      expect(e.message).not.toContain("idp.example.com");
    }
    expect(() => checkMetadataUrl("https://idp.example.com/md?q=1", false)).not.toThrow();
  });

  it("refuses hosts that resolve to any non-public address, unless exempt", async () => {
    const calls: string[] = [];
    const fake = (addresses: string[]): MetadataTransport => ({
      resolve: async () => addresses,
      get: async (url, address) => {
        calls.push(`${url.hostname}@${address}`);
        return new Response(xml, { status: 200 });
      },
    });
    const mixed = fake(["93.184.216.34", "10.0.0.7"]);
    expect(
      (await failure("https://idp.example.com/md", rules({ devMode: false, transport: mixed }))).message,
    ).toBe(M.urlNonPublic);
    expect((await failure("https://[::ffff:127.0.0.1]/md", rules({ devMode: false }))).message).toBe(
      M.urlNonPublic,
    );
    expect(calls).toEqual([]);
    // Exempt host names skip the address rule, and the connection goes to the vetted address.
    const got = await fetchMetadata(
      "https://IdP.internal.example/md",
      rules({ devMode: false, transport: fake(["10.0.0.7"]), allowPrivateHosts: ["idp.internal.example"] }),
    );
    expect(got.bytes.length).toBeGreaterThan(0);
    expect(calls).toEqual(["idp.internal.example@10.0.0.7"]);
    // An exempt host still needs https.
    const e = await failure(
      "http://idp.internal.example/md",
      rules({ devMode: false, transport: fake(["10.0.0.7"]), allowPrivateHosts: ["idp.internal.example"] }),
    );
    expect(e.message).toBe(M.urlNotAllowed);
    const publicOk = await fetchMetadata(
      "https://idp.example.com/md",
      rules({ devMode: false, transport: fake(["93.184.216.34"]) }),
    );
    expect(publicOk.bytes.length).toBeGreaterThan(0);
  });

  it("reports resolution failures as fetch failures", async () => {
    const broken: MetadataTransport = {
      resolve: () => Promise.reject(new Error("ENOTFOUND")),
      get: () => Promise.reject(new Error("unreachable")),
    };
    expect(
      (await failure("https://nope.example.com/md", rules({ devMode: false, transport: broken }))).message,
    ).toBe(M.fetchFailed);
    const empty: MetadataTransport = { resolve: async () => [], get: broken.get };
    expect(
      (await failure("https://nope.example.com/md", rules({ devMode: false, transport: empty }))).message,
    ).toBe(M.fetchFailed);
  });

  it("the runtime transport connects to the given address without resolving the host again", async () => {
    const res = await real.get(
      new URL(`http://metadata.invalid:${server.port}/md`),
      "127.0.0.1",
      new AbortController().signal,
    );
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(xml);
    expect(server.seen.at(-1)!.host).toBe(`metadata.invalid:${server.port}`);
  });
});
