import { group, load } from "../../command.ts";

export default group("Look up, create, delete, suspend and activate users", {
  get: () => load(import("./get.ts")),
  create: () => load(import("./create.ts")),
  delete: () => load(import("./delete.ts")),
  suspend: () => load(import("./suspend.ts")),
  deactivate: () => load(import("./deactivate.ts")),
  activate: () => load(import("./activate.ts")),
  revoke: () => load(import("./revoke.ts")),
});
