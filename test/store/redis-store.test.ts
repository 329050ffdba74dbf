/**
 * The Redis engine's pure parts: error translation (docs/spec/api.md §2.9), SCAN pattern escaping and
 * field-value reply pairing.
 * Behaviour against real servers lives in test/store/conformance/redis*.test.ts.
 */
import {
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  DisconnectsClientError,
  ErrorReply,
  RootNodesUnavailableError,
  SocketClosedUnexpectedlyError,
  TimeoutError,
} from "redis";
import { describe, expect, it } from "vitest";
import { TiktiError } from "../../src/errors.ts";
import { asPairs, escapeGlob, translateRedisError } from "../../src/store/redis.ts";

function systemError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:6379`), { code });
}

describe("translateRedisError", () => {
  const table: Array<[string, unknown, "INTERNAL" | "STORE_UNAVAILABLE"]> = [
    // The server answered with an error about the command or the data: a bug or corrupt data.
    [
      "WRONGTYPE",
      new ErrorReply("WRONGTYPE Operation against a key holding the wrong kind of value"),
      "INTERNAL",
    ],
    ["not an integer", new ErrorReply("ERR value is not an integer or out of range"), "INTERNAL"],
    [
      "script error",
      new ErrorReply("ERR user_script:1: Script attempted to access nonexistent global"),
      "INTERNAL",
    ],
    ["NOPERM", new ErrorReply("NOPERM this user has no permissions to run the 'eval' command"), "INTERNAL"],
    ["NOSCRIPT (only if the fallback failed)", new ErrorReply("NOSCRIPT No matching script."), "INTERNAL"],
    // The server cannot serve right now.
    ["LOADING", new ErrorReply("LOADING Redis is loading the dataset in memory"), "STORE_UNAVAILABLE"],
    ["BUSY", new ErrorReply("BUSY Redis is busy running a script."), "STORE_UNAVAILABLE"],
    ["CLUSTERDOWN", new ErrorReply("CLUSTERDOWN The cluster is down"), "STORE_UNAVAILABLE"],
    [
      "TRYAGAIN",
      new ErrorReply("TRYAGAIN Multiple keys request during rehashing of slot"),
      "STORE_UNAVAILABLE",
    ],
    ["MASTERDOWN", new ErrorReply("MASTERDOWN Link with MASTER is down"), "STORE_UNAVAILABLE"],
    [
      "READONLY",
      new ErrorReply("READONLY You can't write against a read only replica."),
      "STORE_UNAVAILABLE",
    ],
    ["OOM", new ErrorReply("OOM command not allowed when used memory > 'maxmemory'."), "STORE_UNAVAILABLE"],
    ["MISCONF", new ErrorReply("MISCONF Redis is configured to save RDB snapshots"), "STORE_UNAVAILABLE"],
    ["NOAUTH", new ErrorReply("NOAUTH Authentication required."), "STORE_UNAVAILABLE"],
    ["WRONGPASS", new ErrorReply("WRONGPASS invalid username-password pair"), "STORE_UNAVAILABLE"],
    // No answer at all.
    ["offline", new ClientOfflineError(), "STORE_UNAVAILABLE"],
    ["closed", new ClientClosedError(), "STORE_UNAVAILABLE"],
    ["socket closed", new SocketClosedUnexpectedlyError(), "STORE_UNAVAILABLE"],
    ["disconnected", new DisconnectsClientError(), "STORE_UNAVAILABLE"],
    ["connect timeout", new ConnectionTimeoutError(), "STORE_UNAVAILABLE"],
    ["queue timeout", new TimeoutError("timeout"), "STORE_UNAVAILABLE"],
    ["no root node", new RootNodesUnavailableError(), "STORE_UNAVAILABLE"],
    ["ECONNREFUSED", systemError("ECONNREFUSED"), "STORE_UNAVAILABLE"],
    ["ECONNRESET", systemError("ECONNRESET"), "STORE_UNAVAILABLE"],
    ["queue full", new Error("The queue is full"), "STORE_UNAVAILABLE"],
    // Not an Error at all: nothing says the store is down.
    ["thrown string", "boom", "INTERNAL"],
  ];

  it.each(table)("%s → %s", (_name, err, code) => {
    const translated = translateRedisError(err);
    expect(translated).toBeInstanceOf(TiktiError);
    expect(translated.code).toBe(code);
    expect(translated.cause).toBe(err);
    if (code === "STORE_UNAVAILABLE") {
      expect(translated.status).toBe(503);
      expect(translated.retryAfterSeconds).toBe(5);
    } else {
      expect(translated.status).toBe(500);
    }
  });

  it("passes a TiktiError through unchanged", () => {
    const original = new TiktiError("INTERNAL", { cause: new Error("reply shape") });
    expect(translateRedisError(original)).toBe(original);
  });
});

describe("escapeGlob", () => {
  it.each([
    ["plain:prefix:", "plain:prefix:"],
    ["a*b", "a\\*b"],
    ["a?b", "a\\?b"],
    ["[x]", "\\[x\\]"],
    ["back\\slash", "back\\\\slash"],
    ["{tag}%_-^!", "{tag}%_-^!"],
    ["ü😀*", "ü😀\\*"],
  ])("%s → %s", (input, escaped) => {
    expect(escapeGlob(input)).toBe(escaped);
  });
});

describe("asPairs (HGETALL/HSCAN field-value lists)", () => {
  it("pairs fields with values in order", () => {
    expect(asPairs("HGETALL", [])).toEqual([]);
    expect(asPairs("HGETALL", ["f1", "v1", "f2", ""])).toEqual([
      ["f1", "v1"],
      ["f2", ""],
    ]);
  });

  it("refuses an odd list as a malformed reply (500) instead of dropping the last field", () => {
    let caught: unknown;
    try {
      asPairs("HSCAN", ["f1", "v1", "f2"]);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(TiktiError);
    expect((caught as TiktiError).code).toBe("INTERNAL");
    expect(String(((caught as TiktiError).cause as Error).message)).toContain("HSCAN");
  });
});
