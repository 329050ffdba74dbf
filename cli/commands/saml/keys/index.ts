import { group, load } from "../../../command.ts";

export default group("SP key pair: generate the next pair, rotate it in across all replicas", {
  generate: () => load(import("./generate.ts")),
  rotate: () => load(import("./rotate.ts")),
});
