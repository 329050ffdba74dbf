import { group, load } from "../../command.ts";

export default group("Register, change, list and show the clients (audiences, OAuth clients) of a tenant", {
  create: () => load(import("./create.ts")),
  update: () => load(import("./update.ts")),
  list: () => load(import("./list.ts")),
  get: () => load(import("./get.ts")),
  secret: () => load(import("./secret/index.ts")),
  jwks: () => load(import("./jwks/index.ts")),
});
