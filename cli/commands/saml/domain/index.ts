import { group, load } from "../../../command.ts";

export default group("Email domains that discovery (/saml/discover) sends to a tenant's IdP", {
  add: () => load(import("./add.ts")),
  remove: () => load(import("./remove.ts")),
  list: () => load(import("./list.ts")),
});
