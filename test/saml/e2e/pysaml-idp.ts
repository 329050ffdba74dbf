/**
 * The real IdP of the end-to-end tests (docs/spec/saml.md §16): Debian's pysaml2 run by
 * test/saml/e2e/idp/idp.py under /usr/bin/python3 on a free 127.0.0.1 port, with throwaway keys in a
 * temp dir and Tikti's SP metadata passed as a file.
 *
 *   const idp = await startPysamlIdp({ spMetadataXml });   // resolves on the IdP's "ready" line
 *   await idp.stop();                                       // SIGTERM by PID, wait for exit
 *
 * Readiness is an event (the one JSON line the program prints after binding its port), never a
 * timer. Every IdP started here is also SIGKILLed when the test process exits.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { onCleanup, spawnServer } from "../../support/children.ts";

/** §16.3 item 1: the Debian packages are visible to this interpreter only. */
export const SYSTEM_PYTHON = "/usr/bin/python3";
const SCRIPT = fileURLToPath(new URL("./idp/idp.py", import.meta.url));
const READY_TIMEOUT_MS = 20_000;

export interface TestUser {
  nameId: string;
  mail?: string;
  displayName?: string;
  groups?: string[];
}

export const DEFAULT_USER: Required<TestUser> = {
  nameId: "jane.doe@acme.example",
  mail: "jane.doe@acme.example",
  displayName: "Jane Doe",
  groups: ["engineering", "staff"],
};

/** Per-request knobs of the IdP (idp.py `Knobs`), sent as the `X-Idp-Options` header. */
export interface IdpKnobs {
  sign?: "both" | "assertion" | "response" | "none";
  encrypt?: "aes128-cbc" | "aes256-cbc" | "aes128-gcm" | "aes256-gcm" | "tripledes-cbc" | boolean | null;
  keyTransport?: "rsa-oaep-mgf1p" | "rsa-1_5";
  sigAlg?: "rsa-sha256" | "rsa-sha512" | "rsa-sha1";
  digestAlg?: "sha256" | "sha512" | "sha1";
  user?: Partial<TestUser>;
  audience?: string;
  /** Response `Destination` and `SubjectConfirmationData@Recipient`. */
  destination?: string;
  inResponseTo?: string;
  issuer?: string;
  clockShiftSeconds?: number;
  status?: "error";
  /** Ask for username (the user's NameID) and password on a form before answering. */
  loginForm?: boolean;
}

/** The IdP's answer to an AuthnRequest in the JSON mode of §16.2 item 3. */
export interface PostedResponse {
  binding: "HTTP-POST";
  url: string;
  SAMLResponse: string;
  RelayState: string;
}

export interface IdpSession {
  id: number;
  sp: string;
  nameId: string;
  sessionIndex: string | null;
  requestId: string | null;
}

export interface LastMessages {
  authnRequest?: string;
  response?: string;
  logoutRequestFromSp?: string;
  logoutResponseToSp?: string;
  logoutRequestToSp?: string;
  logoutResponseFromSp?: string;
  logoutResults: Array<Record<string, unknown>>;
}

export interface PysamlIdp {
  pid: number;
  base: string;
  entityId: string;
  metadataUrl: string;
  ssoUrl: string;
  sloUrl: string;
  /** pysaml2 version reported by the running IdP. */
  version: string;
  /** stderr of the IdP so far (its 400/500 explanations). */
  log(): string;
  /** Resolves when the IdP's stderr matches `pattern` (it arrives after the HTTP answer, on a pipe). */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<void>;
  metadata(): Promise<string>;
  sessions(): Promise<IdpSession[]>;
  last(): Promise<LastMessages>;
  /** An IdP-initiated Response for `{acsURL}/{tid}` (§6.6). */
  unsolicited(tid: string, options?: IdpKnobs): Promise<PostedResponse>;
  /** An IdP-initiated LogoutRequest for Tikti's SLO URL (Redirect binding, signed query). */
  startLogout(body?: {
    nameId?: string;
    sessionIndex?: string;
    noSessionIndex?: boolean;
    relayState?: string;
  }): Promise<{ binding: "HTTP-Redirect"; url: string; id: string }>;
  /** Replaces Tikti's SP metadata at the IdP (§16.3 item 11: not while logins are in flight). */
  pushSpMetadata(xml: string): Promise<void>;
  stop(): Promise<void>;
}

let depsChecked = false;

/** Installs python3-pysaml2 and xmlsec1 with apt-get on a fresh machine (scripts/system-deps.mjs). */
export async function ensurePysaml2(): Promise<void> {
  if (depsChecked) return;
  const specifier: string = new URL("../../../scripts/system-deps.mjs", import.meta.url).href;
  const mod = (await import(specifier)) as { ensureSystemDeps: () => void };
  mod.ensureSystemDeps();
  depsChecked = true;
}

async function expectOk(res: Response, what: string, log: () => string): Promise<Response> {
  if (res.ok) return res;
  throw new Error(`test IdP ${what}: HTTP ${res.status} ${await res.text()}\n${log()}`);
}

/** Password of the optional login form (knob `loginForm`). */
export const TEST_PASSWORD = "correct horse battery staple";

export async function startPysamlIdp(options: {
  spMetadataXml: string;
  user?: TestUser;
  /** The SLO binding the IdP's metadata advertises (default HTTP-Redirect). */
  sloBinding?: "redirect" | "post";
  /** Knobs for requests without an `X-Idp-Options` header (a browser sends none). */
  knobs?: IdpKnobs;
}): Promise<PysamlIdp> {
  await ensurePysaml2();
  const dir = mkdtempSync(join(tmpdir(), "tikti-pysaml2-"));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const spMetadataPath = join(dir, "sp-metadata.xml");
  writeFileSync(spMetadataPath, options.spMetadataXml);
  const configPath = join(dir, "config.json");
  writeFileSync(
    configPath,
    JSON.stringify({
      dir,
      spMetadataPath,
      user: { ...DEFAULT_USER, ...options.user },
      password: TEST_PASSWORD,
      sloBinding: options.sloBinding ?? "redirect",
      knobs: options.knobs ?? {},
    }),
  );

  // Own process group, SIGKILLed when the test file ends or its fork dies (children.ts).
  const child = spawnServer(SYSTEM_PYTHON, [SCRIPT, configPath], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8", PYTHONDONTWRITEBYTECODE: "1" },
  });
  let stderr = "";
  const logWaiters = new Set<() => void>();
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => {
    stderr += chunk;
    for (const check of logWaiters) check();
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => {
      resolve(code);
    });
  });

  const ready = await new Promise<Record<string, string>>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`test IdP not ready within ${READY_TIMEOUT_MS} ms\n${stderr}`));
    }, READY_TIMEOUT_MS);
    const lines = createInterface({ input: child.stdout! });
    lines.once("line", (line) => {
      clearTimeout(timer);
      try {
        const doc = JSON.parse(line) as Record<string, string> & { ready?: boolean };
        if (doc.ready) resolve(doc);
        else reject(new Error(`unexpected first line from the test IdP: ${line}`));
      } catch {
        reject(new Error(`unexpected first line from the test IdP: ${line}\n${stderr}`));
      }
    });
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${SYSTEM_PYTHON}: ${error.message}`));
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`test IdP exited with ${code} before it was ready\n${stderr}`));
    });
  });

  const base = ready.base!;
  const log = () => stderr;
  const get = async (path: string) => expectOk(await fetch(base + path), `GET ${path}`, log);
  const post = async (path: string, body: string, type = "application/json") =>
    expectOk(
      await fetch(base + path, { method: "POST", body, headers: { "content-type": type } }),
      `POST ${path}`,
      log,
    );

  let stopped = false;
  return {
    pid: child.pid!,
    base,
    entityId: ready.entityId!,
    metadataUrl: ready.metadataUrl!,
    ssoUrl: ready.ssoUrl!,
    sloUrl: ready.sloUrl!,
    version: ready.pysaml2!,
    log,
    waitForLog: (pattern, timeoutMs = 5_000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!pattern.test(stderr)) return;
          clearTimeout(timer);
          logWaiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          logWaiters.delete(check);
          reject(new Error(`test IdP never logged ${pattern}; its log:\n${stderr}`));
        }, timeoutMs);
        logWaiters.add(check);
        check();
      }),
    metadata: async () => (await get("/metadata")).text(),
    sessions: async () => (await (await get("/control/sessions")).json()) as IdpSession[],
    last: async () => (await (await get("/control/last")).json()) as LastMessages,
    unsolicited: async (tid, knobs = {}) =>
      (await (
        await post("/control/unsolicited", JSON.stringify({ tid, options: knobs }))
      ).json()) as PostedResponse,
    startLogout: async (body = {}) =>
      (await (await post("/control/logout", JSON.stringify(body))).json()) as {
        binding: "HTTP-Redirect";
        url: string;
        id: string;
      },
    pushSpMetadata: async (xml) => {
      await post("/control/sp-metadata", xml, "application/xml");
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) {
        process.kill(child.pid!, "SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
