/**
 * SP key files as the SAML core reads them (src/saml/sp-keys.ts): the text of a file, `null` when
 * it does not exist (a missing *next* pair means "no next pair"), an error when it cannot be read.
 * Bun and Deno run this through their `node:` compatibility.
 */
import { readFile } from "node:fs/promises";
import type { KeyFileReader } from "../saml/sp-keys.ts";

export const readSamlKeyFile: KeyFileReader = async (path) => {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    const code = (e as { code?: unknown } | null)?.code;
    if (code === "ENOENT" || code === "ENOTDIR") return null;
    throw e;
  }
};
