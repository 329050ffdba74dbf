// Issue 11 §6: tikti-cli escapes control and format characters in everything it prints. Stored
// values that predate the email grammar (or a hostile server) must be shown, never obeyed: no ESC,
// C1 CSI, bidi override or zero-width character reaches the terminal raw, in table, key/value, JSON
// and error output alike, while the JSON still parses back to the exact stored strings.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { escapeControls, renderJson } from "../../cli/output.ts";
import { type AppHarness, appHarness, cliHarness, type Harness, initProfile } from "./harness.ts";

/** Anything a terminal could act on or that hides/reorders text. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: detecting raw control characters is the point
const RAW_UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\p{Cf}\u2028\u2029]/u;

// Lower-case only: the repository stores emails normalised.
const EMAIL = "mallory\u001b]0;pwned\u0007\u001b[31m@example.com";
const NAME = "Acme \u009b31m\u202eevil\u200b\nFORGED ROW";

let app: AppHarness;
let h: Harness;

beforeAll(async () => {
  app = await appHarness();
  h = await cliHarness(app.fetch);
  await initProfile(h);
  const repos = app.t.app.services.repos;
  // Written through the repositories, as a legacy import or an older release could have stored them.
  await repos.tenants.create({ id: "acme", slug: "acme", name: NAME });
  const user = await repos.users.create({ email: EMAIL, password: "", role: "COMPANY_EMPLOYEE" });
  await repos.memberships.put("acme", user.localId, ["viewer\u001b[8m"]);
});
afterAll(async () => {
  await h?.close();
  await app?.close();
});

describe("tikti-cli output escaping", () => {
  it("table output (membership list) shows escapes, never the raw characters", async () => {
    const r = await h.run(["membership", "list", "--tenant", "acme"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(RAW_UNSAFE);
    expect(r.stdout).toContain("mallory\\x1b]0;pwned\\x07\\x1b[31m@example.com");
    expect(r.stdout).toContain("viewer\\x1b[8m");
    // Two lines: the header and one member (no forged line).
    expect(r.stdout.trimEnd().split("\n")).toHaveLength(2);
  });

  it("key/value output (tenant get) escapes C1, bidi, zero-width and newlines", async () => {
    const r = await h.run(["tenant", "get", "--tenant", "acme"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(RAW_UNSAFE);
    expect(r.stdout).toContain("Acme \\x9b31m\\u{202e}evil\\u{200b}\\x0aFORGED ROW");
    expect(r.stdout).not.toMatch(/^FORGED ROW/m);
  });

  it("JSON output has no raw unsafe character and parses back to the stored values", async () => {
    const list = await h.run(["membership", "list", "--tenant", "acme", "--json"]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).not.toMatch(RAW_UNSAFE);
    expect(list.json<{ users: Array<{ email: string; roles: string[] }> }>().users[0]).toMatchObject({
      email: EMAIL,
      roles: ["viewer\u001b[8m"],
    });
    const tenant = await h.run(["tenant", "get", "--tenant", "acme", "--json"]);
    expect(tenant.stdout).not.toMatch(RAW_UNSAFE);
    expect(tenant.json<{ name: string }>().name).toBe(NAME);
  });

  it("error lines from the server are escaped too", async () => {
    const hostile = async () =>
      Response.json(
        {
          error: "bad \u001b[31mthing\u001b[0m \u202eoops",
          code: "INVALID_ARGUMENT",
          details: { x: "\u009b2J" },
        },
        { status: 400 },
      );
    const r = await h.run(["tenant", "get", "--tenant", "acme"], { fetch: hostile });
    expect(r.code).not.toBe(0);
    expect(r.stderr).not.toMatch(RAW_UNSAFE);
    expect(r.stderr).toContain("bad \\x1b[31mthing\\x1b[0m \\u{202e}oops");
    expect(r.stderr).toContain("x: \\x9b2J");
  });

  it("escapeControls keeps ordinary text and requested layout; renderJson escapes astral tag characters", () => {
    expect(escapeControls("José 用户 ✓ tab\there")).toBe("José 用户 ✓ tab\\x09here");
    expect(escapeControls("line 1\nline 2\t!", "\n\t")).toBe("line 1\nline 2\t!");
    const json = renderJson({ v: "a\u{e0041}b\u0085" });
    expect(json).toContain("a\\udb40\\udc41b\\u0085");
    expect(JSON.parse(json).v).toBe("a\u{e0041}b\u0085");
  });
});
