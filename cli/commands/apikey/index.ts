import { group, load } from "../../command.ts";

export default group("Manage the API key of the selected profile", {
  set: () => load(import("./set.ts")),
});
