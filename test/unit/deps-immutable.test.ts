/**
 * `AppDeps` is immutable after construction (issue 13 item 2): its fields are `readonly`, the
 * configuration read-only all the way down (`npm run typecheck` fails on the `@ts-expect-error`
 * lines below if any of them became writable again), and `createApp` freezes the object, so even
 * untyped code cannot swap a collaborator (e.g. the audit sink) under services built with the old one.
 */
import { describe, expect, it } from "vitest";
import type { AppDeps } from "../../src/deps.ts";
import { buildTestApp } from "../support/app.ts";
import { openTempEmbedded } from "../support/stores.ts";

/** Never called: only type-checked. */
function writesTheTypesRefuse(deps: AppDeps): void {
  // @ts-expect-error AppDeps fields are readonly
  deps.auditSink = () => {};
  // @ts-expect-error AppDeps fields are readonly
  deps.replicaId = "another";
  // @ts-expect-error the configuration is read-only all the way down
  deps.config.rateLimits.enabled = false;
  // @ts-expect-error arrays of the configuration are read-only too
  deps.config.http.trustedProxies.push("10.0.0.0/8");
  // The lifecycle is the one state the runtime flips on shutdown (src/deps.ts `Lifecycle`).
  deps.lifecycle.shuttingDown = true;
}

describe("AppDeps immutable after construction", () => {
  it("createApp freezes the deps: assigning a field throws, the services keep their collaborators", async () => {
    const t = await buildTestApp({ store: await openTempEmbedded() });
    expect(typeof writesTheTypesRefuse).toBe("function");
    expect(Object.isFrozen(t.deps)).toBe(true);
    const replace = () => {
      (t.deps as { auditSink: unknown }).auditSink = () => {};
    };
    expect(replace).toThrow(TypeError);
    // The lifecycle object itself stays writable: shutdown flips it.
    t.deps.lifecycle.shuttingDown = true;
    expect(t.deps.lifecycle.shuttingDown).toBe(true);
  });
});
