import { describe, expect, it } from "vitest";
import { Histogram } from "../../src/metrics.ts";

describe("Histogram", () => {
  it("counts each observation in every bucket whose bound it does not exceed (cumulative)", () => {
    const h = new Histogram("t_seconds", "test", [0.1, 1, 10]);
    for (const v of [0.05, 0.1, 0.5, 5, 50]) h.observe(v, { route: "/x" });
    expect(h.render().split("\n")).toEqual([
      "# HELP t_seconds test",
      "# TYPE t_seconds histogram",
      't_seconds_bucket{le="0.1",route="/x"} 2',
      't_seconds_bucket{le="1",route="/x"} 3',
      't_seconds_bucket{le="10",route="/x"} 4',
      't_seconds_bucket{le="+Inf",route="/x"} 5',
      't_seconds_sum{route="/x"} 55.65',
      't_seconds_count{route="/x"} 5',
    ]);
    expect(h.count({ route: "/x" })).toBe(5);
  });
});
