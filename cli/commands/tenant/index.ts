import { group, load } from "../../command.ts";

export default group("Create, show, list, disable and enable tenants", {
  create: () => load(import("./create.ts")),
  get: () => load(import("./get.ts")),
  list: () => load(import("./list.ts")),
  disable: () => load(import("./disable.ts")),
  enable: () => load(import("./enable.ts")),
});
