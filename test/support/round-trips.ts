/**
 * Store round trips of one request (issue 14 item 2: "exchange in at most two round trips on
 * Redis"). A KV wrapper groups commands into round trips: a command issued before any earlier
 * command has answered travels with them (node-redis writes the commands of one tick as one
 * pipeline); a command issued after an answer may have needed it, so it starts a new round trip.
 * That is an upper bound on the real count on Redis, and the same grouping on every engine.
 */
import type { KV } from "../../src/store/kv.ts";
import type { Engine } from "./app.ts";

export interface RoundTrips {
  /** The commands of each round trip, as `name key`, since the last `reset()`. */
  trips: string[][];
  reset(): void;
}

/** `kv` with its promise-returning commands grouped into round trips (see the header). */
export function countingRoundTrips(kv: KV): { kv: KV; rt: RoundTrips } {
  let answeredSinceLastTrip = true;
  const rt: RoundTrips = {
    trips: [],
    reset() {
      rt.trips = [];
      answeredSinceLastTrip = true;
    },
  };
  const wrapped = new Proxy(kv, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      if (prop === "close" || prop === "hscan" || prop === "scan") return value.bind(target);
      return (...args: unknown[]) => {
        if (answeredSinceLastTrip) {
          rt.trips.push([]);
          answeredSinceLastTrip = false;
        }
        rt.trips.at(-1)?.push(`${String(prop)} ${String(args[0])}`);
        const answer = Promise.resolve(value.apply(target, args));
        const settle = () => {
          answeredSinceLastTrip = true;
        };
        answer.then(settle, settle);
        return answer;
      };
    },
  });
  return { kv: wrapped, rt };
}

/** `engine` whose fresh stores count round trips into the `RoundTrips` handed to `onStore`. */
export function countingEngine(engine: Engine, onStore: (rt: RoundTrips) => void): Engine {
  return {
    ...engine,
    async freshStore() {
      const counted = countingRoundTrips(await engine.freshStore());
      onStore(counted.rt);
      return counted.kv;
    },
  };
}
