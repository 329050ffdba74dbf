#!/usr/bin/env bun
/**
 * tikti-cli: administration and developer command line (docs/spec/cli.md Part A). Talks to the server
 * over HTTP only. The command tree is cli/tree.ts (one file per command under cli/commands/,
 * imported lazily); cli/run.ts runs one invocation and maps every failure to an exit code.
 *
 * This file always runs: it is the entry of the compiled binary, the npm bundle and `node cli/main.ts`
 * (tests import cli/run.ts instead).
 */
import { processIO } from "./io.ts";
import { runCli } from "./run.ts";

process.exitCode = await runCli(process.argv.slice(2), processIO());
