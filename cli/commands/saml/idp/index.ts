import { group, load } from "../../../command.ts";

export default group(
  "A tenant's identity provider: register, show, update, remove, list, fetch metadata now",
  {
    register: () => load(import("./register.ts")),
    show: () => load(import("./show.ts")),
    update: () => load(import("./update.ts")),
    remove: () => load(import("./remove.ts")),
    list: () => load(import("./list.ts")),
    fetch: () => load(import("./fetch.ts")),
  },
);
