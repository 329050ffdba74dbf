// vitest setupFiles: whatever child server a test file started and did not stop (a failed test
// without `finally`, a timed-out hook) is SIGKILLed with its process group when the file ends.
import { afterAll } from "vitest";
import { killAllChildren } from "./children.ts";

afterAll(() => {
  killAllChildren();
});
