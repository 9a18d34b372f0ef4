#!/bin/sh
# Builds every fuzz target and runs each for SECONDS (default 5): `make
# fuzz`, part of `make test`, so a target that no longer builds, or an
# input the fuzzer finds that makes a reader panic, fails CI.
#
#   sh fuzz/run.sh [SECONDS [TARGET...]]
#
# No cargo-fuzz: the targets are built with the flags `cargo fuzz build`
# passes (libFuzzer's coverage instrumentation, `--cfg fuzzing`, debug
# assertions, so integer overflow panics), on stable Rust, without a
# sanitizer. The parsers are safe Rust, and this saves installing
# cargo-fuzz (minutes of compiling on a fresh 2-core machine) and a
# nightly. `cargo +nightly fuzz run NAME` works on the same crate for an
# AddressSanitizer run.
#
# New inputs a run finds go to a scratch directory, not to fuzz/corpus/:
# the committed corpus changes only on purpose (README.md here says how).
# FUZZ_KEEP=DIR keeps them in DIR/TARGET instead, for merging. A crash is
# saved in fuzz/artifacts/TARGET/ and fails the run.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
seconds=${1:-5}
[ $# -gt 0 ] && shift
targets=${*:-parse dns tzif udp control}
triple=$(rustc -vV | sed -n 's/^host: //p')

# What cargo-fuzz 0.12 sets (src/project.rs), sanitizer none; and
# -Dwarnings, so code only compiled with `--cfg fuzzing` stays as clean as
# the rest (registry crates are built with --cap-lints). --target keeps
# these flags off build scripts.
RUSTFLAGS="-Cpasses=sancov-module \
-Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
-Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares \
-Cllvm-args=-sanitizer-coverage-stack-depth \
-Cllvm-args=-simplifycfg-branch-fold-threshold=0 \
--cfg fuzzing -Cdebug-assertions -Ccodegen-units=1 -Dwarnings"
export RUSTFLAGS
started=$(date +%s)
cargo build --quiet --release --manifest-path "$here/Cargo.toml" --target "$triple" --bins
echo "fuzz: built $(echo "$targets" | wc -w) targets in $(($(date +%s) - started)) s"

bin="$here/target/$triple/release"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=""
for t in $targets; do
    out="${FUZZ_KEEP:-$scratch}/$t"
    mkdir -p "$out" "$here/artifacts/$t"
    dict=""
    [ -f "$here/$t.dict" ] && dict="-dict=$here/$t.dict"
    # -timeout: an input that takes a minute is a hang (each takes
    # microseconds), reported as a finding rather than stalling CI.
    # shellcheck disable=SC2086
    if "$bin/$t" -max_total_time="$seconds" -timeout=60 -print_final_stats=1 \
        -artifact_prefix="$here/artifacts/$t/" $dict \
        "$out" "$here/corpus/$t" >"$scratch/$t.log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch/$t.log")
        echo "fuzz: $t: $runs runs in $seconds s, no crash"
    else
        tail -n 40 "$scratch/$t.log"
        echo "fuzz: $t FAILED; the input is in fuzz/artifacts/$t/" >&2
        failed="$failed $t"
    fi
done
[ -z "$failed" ] || { echo "fuzz: failed:$failed" >&2; exit 1; }
