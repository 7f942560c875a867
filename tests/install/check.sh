#!/usr/bin/env bash
# The library as a user gets it: cmake --install from BUILD_DIR into a fresh
# prefix, then a program (tests/install/app) built against that prefix only,
# once with pkg-config and once with find_package(eventbus), and run; then the
# example service (examples/shipping-notifier), copied out of the tree so that
# it can reach nothing but the prefix, built with its CMakeLists.txt and with
# its Makefile, and asked for --help, --version and a bad setting (exit 2).
# integration.example runs the same program, built from the tree, for real.
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

# Runs the example built at $1: --help and --version exit 0, a bad setting 2.
check_example() {
    "$1" --help | grep -q "SHIPPING_WAREHOUSE" || { echo "$1 --help: no settings" >&2; exit 1; }
    "$1" --version | grep -q "^shipping-notifier " || { echo "$1 --version" >&2; exit 1; }
    local rc=0
    RETRY_MAX=x "$1" 2>"$work/bad.err" || rc=$?
    [ "$rc" = 2 ] && grep -q RETRY_MAX "$work/bad.err" ||
        { echo "$1 with RETRY_MAX=x: exit $rc, $(cat "$work/bad.err")" >&2; exit 1; }
}

echo "== examples/shipping-notifier with find_package(eventbus)"
example=$(cd "$here/../../examples/shipping-notifier" && pwd)
cp -r "$example" "$work/example"
cmake -S "$work/example" -B "$work/example-build" -DCMAKE_PREFIX_PATH="$work/prefix" \
    -DCMAKE_C_FLAGS="-Wall -Wextra -Werror" >"$work/cmake.log" || { cat "$work/cmake.log" >&2; exit 1; }
cmake --build "$work/example-build" >"$work/build.log" || { cat "$work/build.log" >&2; exit 1; }
check_example "$work/example-build/shipping-notifier"

echo "== examples/shipping-notifier with its Makefile (pkg-config)"
make -s -B -C "$work/example" CFLAGS="-O2 -Wall -Wextra -Werror" >"$work/make.log" 2>&1 ||
    { cat "$work/make.log" >&2; exit 1; }
check_example "$work/example/shipping-notifier"
echo "installed library OK"
