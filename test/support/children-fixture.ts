// A stand-in for a test fork (test/unit/children.test.ts): starts a server-like child that itself
// forks (as a supervisor forks workers), prints the group, then waits to be killed.
import { spawnServer } from "./children.ts";

const child = spawnServer("sh", ["-c", "sleep 300 & sleep 300 & wait"], { stdio: "ignore" });
process.stdout.write(`${JSON.stringify({ pgid: child.pid })}\n`);
setInterval(() => {}, 60_000);
