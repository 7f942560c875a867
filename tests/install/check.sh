#!/usr/bin/env bash
# The library as a user gets it: cmake --install from BUILD_DIR into a fresh
# prefix, then a program (tests/install/app) built against that prefix only,
# once with pkg-config and once with find_package(eventbus), and run.
#
#   tests/install/check.sh BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: check.sh BUILD_DIR}" && pwd)
work=$(mktemp -d /tmp/eb-install.XXXXXX)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" >"$work/install.log"
pc=$(find "$work/prefix" -name eventbus.pc)
[ -n "$pc" ] || { echo "no eventbus.pc installed" >&2; exit 1; }
for h in "$work"/prefix/include/eventbus/*.h; do
    grep -q . "$h" || { echo "empty header $h" >&2; exit 1; }
done
[ ! -e "$work/prefix/include/eventbus/app" ] || { echo "internal headers installed" >&2; exit 1; }

echo "== pkg-config ($pc)"
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$pc")
pkg-config --validate eventbus
# shellcheck disable=SC2046 # word splitting of the flags is wanted
cc -std=c11 -Wall -Wextra -Werror -o "$work/with-pkg-config" "$here/app/main.c" \
    $(pkg-config --cflags --libs eventbus)
"$work/with-pkg-config"

echo "== find_package(eventbus)"
cmake -S "$here/app" -B "$work/app-build" -DCMAKE_PREFIX_PATH="$work/prefix" >"$work/cmake.log" ||
    { cat "$work/cmake.log" >&2; exit 1; }
cmake --build "$work/app-build" >"$work/build.log" || { cat "$work/build.log" >&2; exit 1; }
"$work/app-build/install-check"
echo "installed library OK"
