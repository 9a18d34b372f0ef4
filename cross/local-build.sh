#!/bin/sh
# Builds pmtr for the device targets without Docker and copies each binary to
# target/dist/. Run cross/setup.sh first (check.sh and sizes.sh do).
#   sh cross/local-build.sh [release] [min]     (default: both)
#
# release: stable, for $STABLE_LOCAL_TARGETS (x86_64 and aarch64 musl).
# min:     nightly -Z build-std + immediate abort, for all four targets,
#          linked by zig (cross/zig-cc-*) against zig's musl, so it needs no
#          prebuilt std or C toolchain for any target: only rust-src.
# Each flavour is one cargo invocation for all its targets, so cargo keeps
# every core busy across targets; the flavours use separate target dirs so
# neither invalidates the other.
set -eu
# shellcheck source=cross/lib.sh
. "$(dirname "$0")/lib.sh"

build_release() {
    set --
    for target in $STABLE_LOCAL_TARGETS; do
        set -- "$@" --target "$target"
    done
    say "building release (stable) for $STABLE_LOCAL_TARGETS"
    cargo +"$STABLE" build --release --target-dir "$STABLE_TARGET_DIR" "$@"
    for target in $STABLE_LOCAL_TARGETS; do
        install -D -m 755 "$(cargo_out "$target" release)" "$(dist_path "$target" release)"
    done
}

build_min() {
    min_panic_strategy
    rustflags="${MIN_PANIC_RUSTFLAGS:+$MIN_PANIC_RUSTFLAGS, }\"-Clink-self-contained=no\""
    set --
    for target in $TARGETS; do
        # Appended to the target's rustflags from .cargo/config.toml; the
        # linker replaces rust-lld/gcc there.
        set -- "$@" --target "$target" \
            --config "target.$target.linker=\"$TOP/cross/zig-cc-$(short_name "$target")\"" \
            --config "target.$target.rustflags=[$rustflags]"
    done
    say "building min (nightly -Z build-std, immediate abort) for $TARGETS"
    # shellcheck disable=SC2086 # MIN_STD_ARGS is a list of words
    cargo +"$NIGHTLY" build --release $MIN_STD_ARGS --target-dir "$MIN_TARGET_DIR" "$@"
    for target in $TARGETS; do
        install -D -m 755 "$(cargo_out "$target" min)" "$(dist_path "$target" min)"
    done
}

[ $# -gt 0 ] || set -- release min
for flavour do
    start=$(now)
    case $flavour in
        release) build_release ;;
        min) build_min ;;
        *) die "unknown flavour '$flavour' (release or min)" ;;
    esac
    say "built $flavour in $(($(now) - start)) s"
done
