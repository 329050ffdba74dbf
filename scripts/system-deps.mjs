// Installs the Debian packages the test suite needs when they are missing (DEVELOPERS.md: CI runs
// as root on a fresh machine). Runs on the machine's Node 20; no dependencies.
import { spawnSync } from "node:child_process";

/** command on PATH (or a shell `check` that must succeed) → Debian package providing it */
export const required = [
  { command: "redis-server", pkg: "redis-server" },
  { command: "redis-cli", pkg: "redis-tools" },
  // Independent XML-DSig signer/verifier for the SAML cross-check tests (test/saml/).
  { command: "xmlsec1", pkg: "xmlsec1" },
  // bcrypt hashes made independently of Tikti's code for the Go-compatibility fixtures (test/migrate/).
  { command: "htpasswd", pkg: "apache2-utils" },
  // The real IdP of the SAML end-to-end tests (test/saml/e2e/): Debian's pysaml2, importable only by
  // the system interpreter (a pyenv/venv python3 earlier on PATH does not see it).
  { check: '/usr/bin/python3 -c "import saml2"', pkg: "python3-pysaml2" },
  // Real-browser tests (test/browser/): Debian's Chromium driven by playwright-core, never a
  // downloaded browser.
  { command: "chromium", pkg: "chromium" },
  // Real OAuth clients no one here wrote (test/oauth/e2e/): authlib, and PyJWT to verify tokens.
  { check: '/usr/bin/python3 -c "import authlib"', pkg: "python3-authlib" },
  { check: '/usr/bin/python3 -c "import jwt"', pkg: "python3-jwt" },
];

function has(command) {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

export function ensureSystemDeps(log = console.error) {
  const present = (r) =>
    r.check ? spawnSync("sh", ["-c", r.check], { stdio: "ignore" }).status === 0 : has(r.command);
  const missing = [...new Set(required.filter((r) => !present(r)).map((r) => r.pkg))];
  if (missing.length === 0) return;
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  const sudo = isRoot ? [] : has("sudo") ? ["sudo", "-n"] : null;
  if (sudo === null) {
    throw new Error(`missing system packages: ${missing.join(", ")} (install them with apt-get as root)`);
  }
  log(`test setup: installing ${missing.join(", ")} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const run = (args) => {
    const [cmd, ...rest] = [...sudo, ...args];
    const r = spawnSync(cmd, rest, { stdio: ["ignore", "ignore", "inherit"], env });
    return r.status === 0;
  };
  if (!run(["apt-get", "install", "-y", "--no-install-recommends", ...missing])) {
    if (
      !run(["apt-get", "update"]) ||
      !run(["apt-get", "install", "-y", "--no-install-recommends", ...missing])
    ) {
      throw new Error(`apt-get could not install: ${missing.join(", ")}`);
    }
  }
  // The Debian package starts a system-wide redis on :6379; tests never use it (they start their
  // own on free ports), so leave it alone rather than fight the init system.
}
