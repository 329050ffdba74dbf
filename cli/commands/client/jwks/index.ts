import { group, load } from "../../../command.ts";

export default group("Manage a client's public keys (private_key_jwt)", {
  set: () => load(import("./set.ts")),
});
