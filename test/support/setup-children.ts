// vitest setupFiles: whatever child server a test file started and did not stop (a failed test
// without `finally`, a timed-out hook) is SIGKILLed with its process group when the file ends.
import { afterAll } from "vitest";
import { killAllChildren } from "./children.ts";
import { cleanUpTempStores } from "./stores.ts";

afterAll(async () => {
  killAllChildren();
  // Temp embedded stores of test/support/stores.ts, per file also when files share a fork.
  await cleanUpTempStores();
});
