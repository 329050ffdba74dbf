import { group, load } from "../../command.ts";

export default group("Obtain, show, validate and introspect access tokens", {
  exchange: () => load(import("./exchange.ts")),
  "client-credentials": () => load(import("./client-credentials.ts")),
  show: () => load(import("./show.ts")),
  validate: () => load(import("./validate.ts")),
  introspect: () => load(import("./introspect.ts")),
});
