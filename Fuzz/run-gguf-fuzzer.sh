#!/usr/bin/env bash
# Builds the GGUF reader with libFuzzer + AddressSanitizer and runs it. See docs/FUZZING.md.
#
#   Fuzz/run-gguf-fuzzer.sh                 # fuzz until stopped (Ctrl-C), 1 job
#   Fuzz/run-gguf-fuzzer.sh -max_total_time=600 -jobs=2
#   Fuzz/run-gguf-fuzzer.sh crash-<sha1>    # replay one input
#
# Extra arguments go to libFuzzer. Seeds: Fuzz/corpus/ (tiny hand-made files) plus, when the store
# has them, the first 64 KiB of the catalog models (SWIFTLM_MODELS or ~/.swiftlm/models).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
work="${SWIFTLM_FUZZ_DIR:-$root/.build-fuzz}"
mkdir -p "$work/corpus" "$work/artifacts"

echo "building $work/fuzz-gguf (libFuzzer + AddressSanitizer)..." >&2
swiftc -O -g -sanitize=fuzzer,address -parse-as-library -module-name GGUFFuzz \
    "$root"/Sources/GGUF/*.swift "$here/GGUFFuzzTarget.swift" -o "$work/fuzz-gguf"

# Seed corpus: the checked-in seeds, and model header prefixes when available.
cp -n "$here"/corpus/* "$work/corpus/" 2>/dev/null || true
store="${SWIFTLM_MODELS:-$HOME/.swiftlm/models}"
if [ -d "$store/blobs" ]; then
    for blob in "$store"/blobs/sha256-*; do
        [ -f "$blob" ] && head -c 65536 "$blob" > "$work/corpus/model-$(basename "$blob" | cut -c8-23)"
    done
fi

# A single existing file argument means "replay it".
if [ $# -eq 1 ] && [ -f "$1" ]; then
    exec "$work/fuzz-gguf" "$1"
fi
cd "$work"
exec "$work/fuzz-gguf" -artifact_prefix="$work/artifacts/" -max_len=1048576 -timeout=10 -rss_limit_mb=4096 "$@" "$work/corpus"
