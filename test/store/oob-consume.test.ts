/**
 * Consuming a one-time code on both engines (docs/spec/storage.md §2, §4.3): the engine's generic
 * `hconsumeIf` spends the code atomically, the OOB repository judges the spent fields. These are the
 * cases the conformance suite held for the engines' former OOB_CONSUME script, now at the repository.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/bytes.ts";
import { keys } from "../../src/store/keys.ts";
import type { KV } from "../../src/store/kv.ts";
import { createOobRepo, judgeConsumed, type OobRepo } from "../../src/store/repos/oob.ts";
import { manualClock, repoDeps, storeEngines } from "./support.ts";

const engines = storeEngines();
const NOW_MS = Date.UTC(2023, 10, 14, 22, 13, 20);
const NOW = Math.floor(NOW_MS / 1000);

for (const engine of engines) {
  describe(`one-time code consumption [${engine.name}]`, () => {
    let kv: KV;
    let oob: OobRepo;

    beforeEach(async () => {
      await engine.wipe();
      kv = engine.kv;
      oob = createOobRepo(repoDeps(kv, manualClock(NOW_MS)), { ttlSeconds: 900 });
    });

    const put = async (code: string, fields: Record<string, string>) => {
      const key = keys.oob(await sha256Hex(code));
      for (const [f, v] of Object.entries(fields)) await kv.hset(key, f, v);
      return key;
    };

    it("NONE / WRONG_TYPE keeps / EXPIRED deletes / missing email or expiry / OK deletes, returning ver", async () => {
      type Row = [string, Record<string, string> | null, "PASSWORD_RESET" | "EMAIL_SIGNIN", unknown, boolean];
      // [code, fields (null = no key), expected type, result, key still exists]
      const table: Row[] = [
        ["none", null, "PASSWORD_RESET", { status: "NONE" }, false],
        [
          "wrong-type",
          { email: "a@x.com", reqType: "EMAIL_SIGNIN", expiresAt: String(NOW + 60) },
          "PASSWORD_RESET",
          { status: "WRONG_TYPE" },
          true,
        ],
        [
          "no-type",
          { email: "a@x.com", expiresAt: String(NOW + 60) },
          "PASSWORD_RESET",
          { status: "WRONG_TYPE" },
          true,
        ],
        [
          "expired",
          { email: "a@x.com", reqType: "PASSWORD_RESET", expiresAt: String(NOW - 1) },
          "PASSWORD_RESET",
          { status: "EXPIRED" },
          false,
        ],
        [
          "no-email",
          { reqType: "PASSWORD_RESET", expiresAt: String(NOW + 60) },
          "PASSWORD_RESET",
          { status: "EXPIRED" },
          false,
        ],
        [
          "empty-email",
          { email: "", reqType: "PASSWORD_RESET", expiresAt: String(NOW + 60) },
          "PASSWORD_RESET",
          { status: "EXPIRED" },
          false,
        ],
        [
          "no-expiry-field",
          { email: "a@x.com", reqType: "PASSWORD_RESET" },
          "PASSWORD_RESET",
          { status: "EXPIRED" },
          false,
        ],
        [
          "unreadable-expiry",
          { email: "a@x.com", reqType: "PASSWORD_RESET", expiresAt: " " },
          "PASSWORD_RESET",
          { status: "EXPIRED" },
          false,
        ],
        [
          "ok",
          { email: "ü@x.com", reqType: "PASSWORD_RESET", expiresAt: String(NOW + 60), ver: "7" },
          "PASSWORD_RESET",
          { status: "OK", email: "ü@x.com", ver: "7" },
          false,
        ],
        [
          "ok-at-boundary",
          { email: "b@x.com", reqType: "EMAIL_SIGNIN", expiresAt: String(NOW) },
          "EMAIL_SIGNIN",
          { status: "OK", email: "b@x.com", ver: "" },
          false,
        ],
      ];
      for (const [code, fields, type, result, kept] of table) {
        const key = fields ? await put(code, fields) : keys.oob(await sha256Hex(code));
        expect(await oob.consume(code, type), code).toEqual(result);
        expect(await kv.exists(key), code).toBe(kept);
      }
      // The kept WRONG_TYPE code is still consumable with the right type.
      expect(await oob.consume("wrong-type", "EMAIL_SIGNIN")).toEqual({
        status: "OK",
        email: "a@x.com",
        ver: "",
      });
    });

    it("race: exactly one of 20 concurrent consumers gets OK", async () => {
      const { code } = await oob.issue({ email: "a@x.com", requestType: "EMAIL_SIGNIN", tokenVersion: 3 });
      const results = await Promise.all(Array.from({ length: 20 }, () => oob.consume(code, "EMAIL_SIGNIN")));
      expect(results.filter((r) => r.status === "OK")).toEqual([
        { status: "OK", email: "a@x.com", ver: "3" },
      ]);
      expect(results.filter((r) => r.status === "NONE")).toHaveLength(19);
    });
  });
}

describe("judgeConsumed", () => {
  it("reads expiresAt as a number of unix seconds and fails closed on anything else", () => {
    const at = (expiresAt: string) =>
      judgeConsumed(
        new Map([
          ["email", "a@x.com"],
          ["expiresAt", expiresAt],
        ]),
        100,
      );
    expect(at("100")).toEqual({ status: "OK", email: "a@x.com", ver: "" });
    expect(at("1e3")).toEqual({ status: "OK", email: "a@x.com", ver: "" });
    for (const bad of ["99", "", "  ", "soon", "Infinity", "NaN"])
      expect(at(bad), bad).toEqual({ status: "EXPIRED" });
  });
});
