#!/bin/sh
# Installs tikti-cli (and optionally the server and migration tool) from source: clones the
# repository, fetches Bun from npm, compiles self-contained binaries with scripts/compile.mjs and
# copies them into TIKTI_BIN_DIR. Needs git, Node.js >= 20 and npm; works on Linux, macOS, WSL and
# Git Bash on Windows.
#
#   curl -fsSL https://raw.githubusercontent.com/tikti-dev/tikti/main/install.sh | sh
#   TIKTI_REF=v0.2.0 TIKTI_BIN_DIR=/usr/local/bin sh install.sh
#
# Environment:
#   TIKTI_REF       branch, tag or commit to build (default: main)
#   TIKTI_BIN_DIR   where the binaries go (default: ~/.local/bin)
#   TIKTI_REPO      git URL of the repository (default: the public one; any git URL or path works)
#   TIKTI_PROGRAMS  which binaries to install (default: tikti-cli; also tikti, tikti-migrate)
set -eu

TIKTI_REPO="${TIKTI_REPO:-https://github.com/tikti-dev/tikti.git}"
TIKTI_REF="${TIKTI_REF:-main}"
TIKTI_BIN_DIR="${TIKTI_BIN_DIR:-${HOME:?HOME is not set}/.local/bin}"
TIKTI_PROGRAMS="${TIKTI_PROGRAMS:-tikti-cli}"

say() { printf 'tikti-install: %s\n' "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is required: $2"; }

need git "to fetch the source"
need node "Node.js 20 or newer runs the build script"
need npm "Bun and the dependencies come from npm"

case "$(uname -s)" in
  Linux*) os=linux ;;
  Darwin*) os=darwin ;;
  MINGW* | MSYS* | CYGWIN*) os=windows ;;
  *) die "unsupported system $(uname -s)" ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=aarch64 ;;
  *) die "unsupported machine $(uname -m)" ;;
esac
exe=""
[ "$os" = windows ] && exe=".exe"

for p in $TIKTI_PROGRAMS; do
  case "$p" in
    tikti | tikti-cli | tikti-migrate) ;;
    *) die "unknown program \"$p\" in TIKTI_PROGRAMS (tikti, tikti-cli, tikti-migrate)" ;;
  esac
done

say "installing $TIKTI_PROGRAMS from $TIKTI_REPO ($TIKTI_REF) into $TIKTI_BIN_DIR"
work=$(mktemp -d 2>/dev/null || mktemp -d -t tikti-install)
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# A branch or tag clones shallow; anything else (a commit id) needs the history.
if ! git clone --quiet --depth 1 --branch "$TIKTI_REF" "$TIKTI_REPO" "$work/src" 2>/dev/null; then
  rm -rf "$work/src"
  git clone --quiet "$TIKTI_REPO" "$work/src" || die "cannot clone $TIKTI_REPO"
  git -C "$work/src" checkout --quiet "$TIKTI_REF" 2>/dev/null ||
    die "no branch, tag or commit \"$TIKTI_REF\" in $TIKTI_REPO"
fi
cd "$work/src"

bun_version=$(node -p "require('./package.json').devDependencies.bun")
say "fetching the dependencies and Bun $bun_version from npm"
# Only what the build needs: runtime dependencies, no dev tools, no bundled Node binaries.
npm install --omit=dev --omit=optional --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error >&2 ||
  die "npm install failed"
npm install --prefix "$work/bun" --ignore-scripts --prefer-offline --no-audit --no-fund --no-save --loglevel=error \
  "bun@$bun_version" >&2 || die "cannot fetch bun@$bun_version from npm"

# The bun package carries its binary in a per-platform package (@oven/bun-<os>-<arch>[-baseline|-musl]);
# npm may install several that match, so take the first that runs here. scripts/rt.mjs looks for it
# under node_modules/@oven of the source tree.
mkdir -p node_modules/@oven
found=""
for dir in "$work"/bun/node_modules/@oven/bun-*; do
  [ -f "$dir/bin/bun$exe" ] || continue
  if "$dir/bin/bun$exe" --version >/dev/null 2>&1; then
    rm -rf "node_modules/@oven/bun-$os-$arch"
    mv "$dir" "node_modules/@oven/bun-$os-$arch"
    found=yes
    break
  fi
done
[ -n "$found" ] || die "no Bun binary for $(uname -s) $(uname -m) in bun@$bun_version"

say "compiling"
node scripts/compile.mjs --outdir "$work/out" >&2 || die "compile failed"

mkdir -p "$TIKTI_BIN_DIR"
for p in $TIKTI_PROGRAMS; do
  # Copy next to the target, then rename: a tikti-cli that is running keeps its old file.
  cp "$work/out/$p$exe" "$TIKTI_BIN_DIR/.$p$exe.new"
  chmod 755 "$TIKTI_BIN_DIR/.$p$exe.new"
  mv -f "$TIKTI_BIN_DIR/.$p$exe.new" "$TIKTI_BIN_DIR/$p$exe"
  say "installed $TIKTI_BIN_DIR/$p$exe ($("$TIKTI_BIN_DIR/$p$exe" --version))"
done

case ":${PATH:-}:" in
  *":$TIKTI_BIN_DIR:"*) ;;
  *) say "note: $TIKTI_BIN_DIR is not on PATH; add it, e.g. export PATH=\"$TIKTI_BIN_DIR:\$PATH\"" ;;
esac
