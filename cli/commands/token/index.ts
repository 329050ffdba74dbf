import { group, load } from "../../command.ts";

export default group("Obtain, show and validate access tokens", {
  exchange: () => load(import("./exchange.ts")),
  show: () => load(import("./show.ts")),
  validate: () => load(import("./validate.ts")),
});
