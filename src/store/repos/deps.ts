import type { Clock } from "../../clock.ts";
import type { Logger } from "../../logger.ts";
import type { KV } from "../kv.ts";

/** What every repository needs: the store, a logger for best-effort steps, and time. */
export interface RepoDeps {
  kv: KV;
  logger: Logger;
  clock: Clock;
}

/** RFC 3339 UTC with milliseconds, e.g. `2025-01-01T10:00:00.123Z`. */
export function isoNow(clock: Clock): string {
  return new Date(clock.now()).toISOString();
}
