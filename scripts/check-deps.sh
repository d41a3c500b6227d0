#!/usr/bin/env bash
# The import rules of DESIGN.md: each package, and what it must not import.
set -euo pipefail
mod=github.com/backplane-dev/backplane
fail=0
check() {
  local pkg=$1; shift
  compgen -G "${pkg#./}/*.go" >/dev/null || return 0
  local deps
  deps=$(go list -deps "$pkg" 2>/dev/null)
  for bad in "$@"; do
    if grep -qx "$mod/$bad" <<<"$deps"; then
      echo "$pkg must not import $mod/$bad"; fail=1
    fi
  done
  # Nomad, Consul and Vault main modules never become dependencies.
  if grep -E '^github.com/hashicorp/(nomad|consul|vault)(/|$)' <<<"$deps" | grep -vqE '^github.com/hashicorp/(nomad|consul|vault)/api(/|$)'; then
    echo "$pkg pulls in a Nomad, Consul or Vault main module"; fail=1
  fi
}
check ./schema templates translator jobs observe store web
check ./templates jobs web store translator
check ./translator jobs web store
check ./jobs web store
check ./observe web store
for d in observe/*/ observe/*/*/; do   # observe's sub-packages (logship, logs, ...)
  [ -d "$d" ] && check "./${d%/}" web store
done
check ./store jobs web
check ./autodeploy web
check ./cmd/backplane
[ $fail = 0 ] && echo "import rules hold"
exit $fail
