#!/usr/bin/env bash
# Builds the libFuzzer harnesses (preset fuzz: clang, ASan+UBSan) and runs
# each for SECONDS (default 30) over its corpus in tests/fuzz/corpus.
# New inputs go to a scratch directory: the committed corpus only changes
# when someone merges findings into it on purpose (-merge=1).
#
#   scripts/fuzz.sh [SECONDS] [HARNESS...]     harnesses: order_request event config
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-30}
shift || true
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(order_request event config)

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j"$(nproc)" >/dev/null
scratch=$(mktemp -d /tmp/fuzz.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
for h in "${harnesses[@]}"; do
    mkdir -p "$scratch/$h"
    dict=()
    [ "$h" = config ] || dict=(-dict=tests/fuzz/json.dict)
    echo "== fuzz_$h for ${seconds}s"
    # A crash, leak or failed property stops libFuzzer with a non-zero exit
    # and leaves the input in crash-* (kept as a CI artifact if wanted).
    if ! build-fuzz/bin/fuzz_"$h" -max_total_time="$seconds" -max_len=65536 "${dict[@]}" \
        -print_final_stats=1 -artifact_prefix="$scratch/" "$scratch/$h" "tests/fuzz/corpus/$h" \
        >"$scratch/$h.log" 2>&1; then
        tail -n 40 "$scratch/$h.log"
        echo "fuzz_$h failed: the input is $(ls "$scratch"/crash-* "$scratch"/leak-* 2>/dev/null)"
        exit 1
    fi
    grep -E '^Done|stat::number_of_executed_units' "$scratch/$h.log"
done
