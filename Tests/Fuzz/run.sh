#!/usr/bin/env bash
# libFuzzer over the api's parsers of outside bytes: sender addresses, header parameters (multipart file names,
# RFC 5987), the seed bridge's webhook JSON with its lenient timestamp and id fields.
#
#   Tests/Fuzz/run.sh [minutes]       # default 10; exits non-zero on the first crash (its input is in $OUT)
#
# The parsers are compiled from their source files with `swiftc -sanitize=fuzzer,address`; the corpus starts from
# Tests/Fuzz/seeds and grows in $OUT/corpus.
set -euo pipefail
cd "$(dirname "$0")/../.."
MINUTES=${1:-10}
OUT=${OUT:-test-output/fuzz}
mkdir -p "$OUT/corpus" "$OUT/src"
{ echo "import Foundation"; cat Services/api/Support/SenderAddress.swift; } >"$OUT/src/SenderAddress.swift"
swiftc -O -sanitize=fuzzer,address -parse-as-library -o "$OUT/fuzz-parsers" \
    Tests/Fuzz/FuzzTarget.swift "$OUT/src/SenderAddress.swift" Services/api/HTTP/HeaderParameters.swift \
    Services/api/HTTP/FlexibleValues.swift Services/api/HTTP/SeedBridgePayload.swift 2>&1 | grep -v "Cannot export local symbol" || true
cp -n Tests/Fuzz/seeds/* "$OUT/corpus/" 2>/dev/null || true
SWIFT_BACKTRACE=enable=no "$OUT/fuzz-parsers" -max_total_time=$((MINUTES * 60)) -max_len=4096 -timeout=5 -print_final_stats=1 \
    -artifact_prefix="$OUT/" "$OUT/corpus"
