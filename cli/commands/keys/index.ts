import { group, load } from "../../command.ts";

export default group("Signing keys: list the published ones, generate a new one for rotation", {
  list: () => load(import("./list.ts")),
  generate: () => load(import("./generate.ts")),
});
