import { group, load } from "../../command.ts";

export default group("Sign in and out (stores or clears the idToken)", {
  login: () => load(import("./login.ts")),
  logout: () => load(import("./logout.ts")),
});
