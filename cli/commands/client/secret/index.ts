import { group, load } from "../../../command.ts";

export default group("Manage a client's secret", {
  rotate: () => load(import("./rotate.ts")),
});
