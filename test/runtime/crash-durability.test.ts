import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type RuntimeName, startTikti } from "../support/tikti-process.ts";

// docs/spec/storage.md §7.3: a write acknowledged to the caller survives a process crash. The real server,
// SIGKILLed right after it answered 200 to a sign-up, restarted on the same data dir.
describe.each<RuntimeName>(["bun", "node"])("embedded store durability on %s", (runtime) => {
  it("keeps every acknowledged sign-up across SIGKILL and restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tikti-crash-"));
    try {
      const first = await startTikti({ runtime, dir });
      const emails = Array.from({ length: 5 }, (_, i) => `crash${i}-${runtime}@example.com`);
      for (const email of emails) {
        const res = await fetch(`${first.baseUrl}/accounts/signUp`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email, password: "durable password" }),
        });
        expect(res.status).toBe(200);
      }
      // No graceful shutdown: the process dies right after its last acknowledgement.
      first.child.kill("SIGKILL");
      await first.exited;

      // Same dir and data dir (the config is rewritten with a new port; secrets are regenerated,
      // which does not matter for password sign-in). The lock was released by the kernel.
      const second = await startTikti({ runtime, dir });
      try {
        for (const email of emails) {
          const res = await fetch(`${second.baseUrl}/accounts/signIn`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ email, password: "durable password" }),
          });
          expect(res.status, email).toBe(200);
          expect((await res.json()).email).toBe(email);
        }
      } finally {
        await second.stop("SIGKILL");
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
