/**
 * The server says which configuration it runs with (README "Running with a configuration file"):
 * the start log names the file, and a refused file is named before its problems — a new user who
 * copied the example to config/tikti.yaml saw only "issuerBaseUrl: required" and no file.
 */
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { commandFor, repoRoot, startTikti } from "../support/tikti-process.ts";

describe("the configuration in effect is named", () => {
  it("the start log names the config file", async () => {
    const server = await startTikti({ runtime: "node" });
    try {
      const line = server
        .stdout()
        .split("\n")
        .find((l) => l.includes('"msg":"tikti listening"'));
      expect(JSON.parse(line!).config).toBe(server.configFile);
    } finally {
      await server.stop();
    }
  }, 60_000);

  it("the example copied to config/tikti.yaml is refused naming that file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tikti-config-source-"));
    try {
      mkdirSync(join(dir, "config"));
      copyFileSync(join(repoRoot, "config/tikti.example.yaml"), join(dir, "config/tikti.yaml"));
      const { cmd, args } = commandFor("node", []);
      const result = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
        const child = spawn(cmd, args, {
          cwd: dir,
          env: { PATH: process.env.PATH ?? "", HOME: dir, NO_COLOR: "1" },
          stdio: ["ignore", "ignore", "pipe"],
        });
        let stderr = "";
        child.stderr.setEncoding("utf8").on("data", (d: string) => {
          stderr += d;
        });
        child.on("error", reject);
        child.on("exit", (code) => resolve({ code, stderr }));
      });
      expect(result.code).toBe(2);
      const lines = result.stderr.trim().split("\n");
      expect(lines[0]).toBe(`config file ${join(dir, "config/tikti.yaml")} refused:`);
      expect(lines).toContain("config: issuerBaseUrl: required (set issuerBaseUrl or ISSUER_BASE_URL)");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
