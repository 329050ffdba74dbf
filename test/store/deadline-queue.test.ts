/**
 * The Redis engine's command deadlines (src/store/redis.ts `DeadlineQueue`): one timer for all
 * commands instead of one per command (issue 14). Same contract as before: an answer in time is
 * passed through, a command without one fails with the deadline error once its own timeout has
 * passed (whatever happened to the commands around it), and an idle store holds no timer.
 * The end-to-end check against a paused redis-server is in test/store/conformance/redis.test.ts.
 */
import { describe, expect, it } from "vitest";
import { DeadlineQueue } from "../../src/store/redis.ts";

const MS = 60;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;

/** A command whose answer the test gives (or never gives). */
function command<T>() {
  let answer!: (value: T) => void;
  let fail!: (err: Error) => void;
  const promise = new Promise<T>((resolve, reject) => {
    answer = resolve;
    fail = reject;
  });
  return { start: () => promise, answer, fail };
}

async function outcome(p: Promise<unknown>): Promise<{ value?: unknown; error?: string; ms: number }> {
  const t = performance.now();
  try {
    return { value: await p, ms: performance.now() - t };
  } catch (e) {
    return { error: (e as Error).name, ms: performance.now() - t };
  }
}

describe("DeadlineQueue", () => {
  it("passes answers and errors through, and leaves no timer once nothing is outstanding", async () => {
    const q = new DeadlineQueue(MS);
    const before = timeouts();
    const a = command<string>();
    const b = command<string>();
    const pa = q.run(a.start);
    const pb = q.run(b.start);
    expect(timeouts()).toBe(before + 1); // one timer for both
    a.answer("A");
    b.fail(new TypeError("boom"));
    expect(await outcome(pa)).toMatchObject({ value: "A" });
    expect(await outcome(pb)).toMatchObject({ error: "TypeError" });
    expect(timeouts()).toBe(before);
  });

  it("fails a command without an answer after its own timeout, even behind answered ones", async () => {
    const q = new DeadlineQueue(MS);
    const first = command<string>();
    const pFirst = q.run(first.start);
    await sleep(MS / 2);
    const late = command<string>();
    const pLate = outcome(q.run(late.start));
    first.answer("first");
    expect(await pFirst).toBe("first");
    const r = await pLate;
    expect(r.error).toBe("CommandDeadlineError");
    // Its own deadline (MS after it was sent), not the first command's.
    expect(r.ms).toBeGreaterThanOrEqual(MS - 5);
    expect(r.ms).toBeLessThan(MS * 3);
    // An answer after the deadline changes nothing.
    late.answer("too late");
    await sleep(5);
  });

  it("fails every unanswered command of a burst at its deadline and keeps working afterwards", async () => {
    const q = new DeadlineQueue(MS);
    const silent = Array.from({ length: 50 }, () => command<number>());
    const results = Promise.all(silent.map((c) => outcome(q.run(c.start))));
    for (const r of await results) expect(r.error).toBe("CommandDeadlineError");
    const before = timeouts();
    const next = command<number>();
    const p = q.run(next.start);
    next.answer(7);
    expect(await p).toBe(7);
    expect(timeouts()).toBeLessThanOrEqual(before);
  });

  it("a command that throws when sent is refused at once", async () => {
    const q = new DeadlineQueue(MS);
    const r = await outcome(
      q.run(() => {
        throw new RangeError("offline");
      }),
    );
    expect(r.error).toBe("RangeError");
    expect(r.ms).toBeLessThan(MS);
  });
});
