import { group, load } from "../../command.ts";

export default group(
  "SAML single sign-on: SP metadata, tenant IdPs, discovery domains, SP keys, login check",
  {
    metadata: () => load(import("./metadata.ts")),
    idp: () => load(import("./idp/index.ts")),
    domain: () => load(import("./domain/index.ts")),
    keys: () => load(import("./keys/index.ts")),
    test: () => load(import("./test.ts")),
  },
);
