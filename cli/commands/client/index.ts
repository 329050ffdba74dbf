import { group, load } from "../../command.ts";

export default group("Register, list and show the clients (audiences) of a tenant", {
  create: () => load(import("./create.ts")),
  list: () => load(import("./list.ts")),
  get: () => load(import("./get.ts")),
});
