import { describe, expect, it } from "vitest";
import { createLineSink } from "../../src/runtime/line-sink.ts";

/** A sink whose scheduled flushes run when the test says the turn is over. */
function harness(maxBytes?: number) {
  const writes: string[] = [];
  const queued: Array<() => void> = [];
  const sink = createLineSink(
    (chunk) => writes.push(chunk),
    (run) => queued.push(run),
    maxBytes,
  );
  const endTurn = () => {
    for (const run of queued.splice(0)) run();
  };
  return { sink, writes, queued, endTurn };
}

describe("line sink (buffered stdout)", () => {
  it("writes the lines of one turn in one write, in order, each with its newline", () => {
    const h = harness();
    h.sink.line("a");
    h.sink.line("b");
    h.sink.line("c");
    expect(h.writes).toEqual([]);
    expect(h.queued).toHaveLength(1); // one flush scheduled per turn, not one per line
    h.endTurn();
    expect(h.writes).toEqual(["a\nb\nc\n"]);
    h.sink.line("d");
    h.endTurn();
    expect(h.writes).toEqual(["a\nb\nc\n", "d\n"]);
  });

  it("writes at once when the batch reaches maxBytes", () => {
    const h = harness(10);
    h.sink.line("12345");
    h.sink.line("67890");
    expect(h.writes).toEqual(["12345\n67890\n"]);
    h.endTurn(); // the scheduled flush finds nothing left
    expect(h.writes).toHaveLength(1);
  });

  it("an audit record goes out immediately, after the lines made before it", () => {
    const h = harness();
    h.sink.line("request 1");
    h.sink.now("audit");
    expect(h.writes).toEqual(["request 1\naudit\n"]);
    h.sink.line("request 2");
    h.sink.flush(); // process exit
    expect(h.writes).toEqual(["request 1\naudit\n", "request 2\n"]);
  });
});
