import { group, load } from "../../command.ts";

export default group("Create, list and show the roles of a tenant", {
  create: () => load(import("./create.ts")),
  list: () => load(import("./list.ts")),
  get: () => load(import("./get.ts")),
});
