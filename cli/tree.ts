/**
 * The command tree of tikti-cli (docs/spec/cli.md §5). Top-level entries are imported lazily: a group is
 * `cli/commands/<noun>/index.ts` (its verbs, each `cli/commands/<noun>/<verb>.ts`, again lazy); a
 * single command without verbs is `cli/commands/<name>.ts`. `--help` and `--version` import nothing
 * but the group indexes they print.
 *
 * Adding a group (e.g. `saml`): write `cli/commands/saml/index.ts` with `group(...)` and its verbs
 * (nested groups such as `saml idp register` are groups inside the group), then add ONE line below.
 */
import { defineCommand, type SubCommandsDef } from "citty";
import { VERSION } from "../src/version.ts";
import { type AnyCommand, load } from "./command.ts";

export const commands: SubCommandsDef = {
  init: () => load(import("./commands/init.ts")),
  config: () => load(import("./commands/config/index.ts")),
  apikey: () => load(import("./commands/apikey/index.ts")),
  auth: () => load(import("./commands/auth/index.ts")),
  token: () => load(import("./commands/token/index.ts")),
  user: () => load(import("./commands/user/index.ts")),
  revoke: () => load(import("./commands/revoke/index.ts")),
  tenant: () => load(import("./commands/tenant/index.ts")),
  membership: () => load(import("./commands/membership/index.ts")),
  role: () => load(import("./commands/role/index.ts")),
  client: () => load(import("./commands/client/index.ts")),
  jwks: () => load(import("./commands/jwks.ts")),
  keys: () => load(import("./commands/keys/index.ts")),
  saml: () => load(import("./commands/saml/index.ts")),
};

export const VERSION_TEXT = `${VERSION.version} (${VERSION.commit})`;

export const root: AnyCommand = defineCommand({
  meta: {
    name: "tikti-cli",
    version: VERSION_TEXT,
    description: "Administer a Tikti identity service and obtain tokens from it",
  },
  subCommands: commands,
});
