import { group, load } from "../../command.ts";

export default group("Add, remove and list the users of a tenant", {
  add: () => load(import("./add.ts")),
  remove: () => load(import("./remove.ts")),
  list: () => load(import("./list.ts")),
});
