import { group, load } from "../../command.ts";

export default group("Go-era revocation commands", {
  tokens: () => load(import("./tokens.ts")),
});
