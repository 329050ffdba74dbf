import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/validate.ts";
import { parseArgs } from "../../src/runtime/main.ts";

describe("the server's command line", () => {
  it("reads -f/--config with its value, --config=, and the flags", () => {
    expect(parseArgs([])).toEqual({ check: false, version: false, help: false });
    expect(parseArgs(["-f", "a.yaml", "--check"])).toEqual({
      configPath: "a.yaml",
      check: true,
      version: false,
      help: false,
    });
    expect(parseArgs(["--config", "-v", "-h"])).toEqual({
      configPath: "-v",
      check: false,
      version: false,
      help: true,
    });
    expect(parseArgs(["--version", "--config=b.yaml"])).toMatchObject({
      configPath: "b.yaml",
      version: true,
    });
  });

  it.each([[["-f"]], [["--check", "--config"]], [["--nope"]]])("refuses %j", (argv) => {
    expect(() => parseArgs(argv)).toThrow(ConfigError);
  });
});
