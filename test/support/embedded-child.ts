/**
 * A child process for the embedded-store tests (test/store/embedded-store.test.ts), run directly
 * from .ts on Node, Bun or Deno:
 *
 *   <runtime> test/support/embedded-child.ts <driver: node|bun> <mode> <dataDir>
 *
 * modes:
 *   writes  open the store, then write forever, printing "ack <n>" after write n is acknowledged
 *           (the parent SIGKILLs it and checks every acknowledged write survived);
 *   bursts  the same with 16 concurrent writes at a time (group commit);
 *   hold    open the store, print "ready", and wait to be killed (holds the lock);
 *   smoke   run one pass over the KV surface and print its results as one JSON line;
 *   forget  write once and never close: the process must still exit (the sweep timer is unref'd).
 */
import { silentLogger } from "../../src/logger.ts";
import { openEmbeddedStore } from "../../src/runtime/embedded-open.ts";
import type { SqliteDb } from "../../src/store/sqlite.ts";

const [driver, mode, dataDir] = process.argv.slice(2);
if (!driver || !mode || !dataDir)
  throw new Error("usage: embedded-child.ts <node|bun> <writes|hold|smoke> <dataDir>");

const { openSqlite } = (
  driver === "bun"
    ? await import("../../src/runtime/sqlite-bun.ts")
    : await import("../../src/runtime/sqlite-node.ts")
) as { openSqlite: (path: string) => SqliteDb };

const kv = await openEmbeddedStore({ dataDir, logger: silentLogger, openSqlite });

/** The write number `n` of the crash test: cycles through the four write paths. */
async function write(n: number): Promise<void> {
  switch (n % 4) {
    case 0:
      await kv.set(`s:${n}`, `v${n}`);
      return;
    case 1:
      await kv.hset("hash", `f${n}`, `v${n}`);
      return;
    case 2:
      await kv.casSet(`c:${n}`, null, `v${n}`, 3_600_000);
      return;
    default:
      await kv.incr("counter");
  }
}

async function smoke(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = { engine: kv.engine };
  const codeOf = async (p: Promise<unknown>) =>
    p.then(
      () => "resolved",
      (e: { code?: string }) => e.code ?? String(e),
    );
  out.missing = await kv.get("missing");
  out.set = await kv.set("a", "1");
  out.nx = await kv.set("a", "2", { nx: true });
  out.get = await kv.get("a");
  await kv.set("empty", "");
  out.empty = await kv.get("empty");
  out.hsetNew = await kv.hset("h", "__proto__", "x");
  out.hsetOld = await kv.hset("h", "__proto__", "y");
  out.hsetnx = await kv.hsetnx("h", "b", "z");
  out.hgetall = [...(await kv.hgetall("h"))];
  out.hlen = await kv.hlen("h");
  out.sadd = await kv.sadd("set", "😀");
  out.smembers = await kv.smembers("set");
  for (const k of ["p:a*b?[c]:1", "p:a*b?[c]:2", "p:aXbYc:3", "p:中文"]) await kv.set(k, "1");
  const scanned: string[] = [];
  for await (const batch of kv.scan("p:a*b?[c]:", 1)) scanned.push(...batch);
  out.scan = scanned;
  const hscanned: string[] = [];
  for await (const batch of kv.hscan("h", 1)) hscanned.push(...batch.map(([f]) => f));
  out.hscan = hscanned;
  out.incr = [await kv.incr("n"), await kv.incr("n")];
  out.casHset = [await kv.casHset("h", "b", "wrong", "q"), await kv.casHset("h", "b", "z", "q")];
  out.casSet = [await kv.casSet("cs", null, "1", 60_000), await kv.casSet("cs", null, "2")];
  out.casDel = [await kv.casDel("cs", "2"), await kv.casDel("cs", "1")];
  await kv.set("once", "payload");
  out.consume = [await kv.consume("once"), await kv.consume("once")];
  await kv.hset("oob:x", "email", "a@x.com");
  await kv.hset("oob:x", "reqType", "EMAIL_SIGNIN");
  await kv.hset("oob:x", "expiresAt", "2000000000");
  out.oob = [
    await kv.hconsumeIf("oob:x", "reqType", "PASSWORD_RESET"),
    await kv.hconsumeIf("oob:x", "reqType", "EMAIL_SIGNIN"),
  ].map((r) => (r.status === "CONSUMED" ? { status: r.status, fields: Object.fromEntries(r.fields) } : r));
  const hit = await kv.rlIncr("rl", 60_000);
  out.rl = [hit.count, hit.pttlMs > 0 && hit.pttlMs <= 60_000];
  await kv.idxAdd("idx", "t:s", "{}", 60_000);
  out.idxTtl = (await kv.pttl("idx")) > 0;
  out.pttl = [await kv.pttl("a"), await kv.pttl("missing")];
  out.wrongType = await codeOf(kv.get("h"));
  await kv.ping();
  await kv.close();
  out.afterClose = await codeOf(kv.get("a"));
  return out;
}

if (mode === "writes") {
  for (let n = 0; n < 200_000; n++) {
    await write(n);
    process.stdout.write(`ack ${n}\n`);
  }
} else if (mode === "bursts") {
  // Group commit (docs/adr/0095-embedded-group-commit.md): 16 concurrent writes at a time share a COMMIT;
  // each "ack <n>" is printed when write n's promise resolved, in issue order.
  for (let n = 0; n < 200_000; n += 16) {
    await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        write(n + i).then(() => {
          process.stdout.write(`ack ${n + i}\n`);
        }),
      ),
    );
  }
} else if (mode === "hold") {
  process.stdout.write("ready\n");
  setInterval(() => {}, 60_000);
} else if (mode === "smoke") {
  process.stdout.write(`${JSON.stringify(await smoke())}\n`);
} else if (mode === "forget") {
  await kv.set("k", "v");
  process.stdout.write("done\n");
} else {
  throw new Error(`unknown mode ${mode}`);
}
