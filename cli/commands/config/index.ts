import { group, load } from "../../command.ts";

export default group("Show or change the selected profile", {
  show: () => load(import("./show.ts")),
  set: () => load(import("./set.ts")),
});
