#!/bin/bash
# dev.sh - the two commands of a fresh machine (see README.md):
#   bash dev.sh demo    install what is missing, build, run the whole flow against the mock Hub
#   bash dev.sh test    install what is missing, build the sanitizer flavour, run every test
# Any other word is passed to make after the install step (bash dev.sh static).
set -euo pipefail
cd "$(dirname "$0")"
target=${1:-demo}
shift || true
case $target in
static|dist|test-static|test) scripts/install-deps.sh --static ;;
bench) scripts/install-deps.sh --bench ;;
*) scripts/install-deps.sh ;;
esac
exec make -j"$(nproc)" "$target" "$@"
