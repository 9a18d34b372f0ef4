#!/bin/sh
# Builds pmtr for the device targets without Docker and copies each binary to
# target/dist/. Run cross/setup.sh first (check.sh and sizes.sh do).
#   sh cross/local-build.sh [release] [min]     (default: both)
#
# release: stable, for $STABLE_LOCAL_TARGETS (x86_64 and aarch64 musl, or
#          those of them in PMTR_TARGETS).
# min:     nightly -Z build-std + immediate abort, for all four targets,
#          linked by zig (cross/zig-cc-*) against zig's musl, so it needs no
#          prebuilt std or C toolchain for any target: only rust-src.
# Each flavour is one cargo invocation for all its targets, so cargo keeps
# every core busy across targets; the flavours use separate target dirs so
# neither invalidates the other.
#
# For measuring (cross/bloat.sh, and trying a flag before adopting it), with
# CARGO_TARGET_DIR set to a directory of its own so that the normal builds
# are not invalidated (the binaries then land in $CARGO_TARGET_DIR/dist):
#   PMTR_RUSTFLAGS   rustflags added for every target of both flavours,
#                    e.g. -Zlocation-detail=none (min only: nightly flags);
#   PMTR_CARGO_ARGS  cargo arguments added to both flavours' builds, e.g.
#                    --bin pmtr --config profile.release.strip=false;
#   PMTR_LINK_MAP    a directory: each link of pmtr writes its linker map
#                    there, as <flavour>-<short>.map (for the stable flavour
#                    build --bin pmtr only, or the companions' links
#                    overwrite it). The min flavour always writes its maps
#                    (into target/min/maps/ without PMTR_LINK_MAP; the
#                    companions' as min-<short>-<name>.map), for
#                    cross/hot-check.sh.
set -eu
# shellcheck source=cross/lib.sh
. "$(dirname "$0")/lib.sh"

# run_cargo TARGET_DIR CARGO ARGS...: run cargo with no terminal input.
run_cargo() {
    shift
    "$@" </dev/null
}

# map_rustflags TARGET: the rustflags that make the stable link write its
# map into $PMTR_LINK_MAP (none when unset). Both stable targets link with
# rust-lld itself (.cargo/config.toml).
map_rustflags() {
    [ -n "${PMTR_LINK_MAP:-}" ] || return 0
    echo "-Clink-arg=-Map=$PMTR_LINK_MAP/release-$(short_name "$1").map"
}

build_release() {
    if [ -z "$STABLE_LOCAL_TARGETS" ]; then
        say "release: none of PMTR_TARGETS is built on stable here; skipped"
        return 0
    fi
    set --
    for target in $STABLE_LOCAL_TARGETS; do
        set -- "$@" --target "$target"
        # One line of words, or empty.
        # shellcheck disable=SC2046,SC2086,SC2116 # lists of words
        flags=$(echo $(release_rustflags "$target") ${PMTR_RUSTFLAGS:-} $(map_rustflags "$target"))
        if [ -n "$flags" ]; then
            # shellcheck disable=SC2086 # a list of words
            set -- "$@" --config "target.$target.rustflags=$(toml_array $flags)"
        fi
    done
    [ -z "${PMTR_LINK_MAP:-}" ] || mkdir -p "$PMTR_LINK_MAP"
    say "building release (stable) for $STABLE_LOCAL_TARGETS"
    # shellcheck disable=SC2086 # PMTR_CARGO_ARGS is a list of words
    run_cargo "$STABLE_TARGET_DIR" cargo +"$STABLE" build --release --target-dir "$STABLE_TARGET_DIR" \
        ${PMTR_CARGO_ARGS:-} "$@"
    for target in $STABLE_LOCAL_TARGETS; do
        install_dist "$target" release
    done
}

# min_zig_link_args TARGET: linker arguments for zig's lld in the min
# flavour: cross/hot-text.ld, the steady state's functions first (issue 18;
# cross/hot-trace.sh makes it; its patterns are the min flavour's v0 symbol
# names, hence min only), with cross/discard-unwind.ld's rule inside it:
# zig cc hands lld only the last `-T` it is given, so the script that
# .cargo/config.toml names for x86_64 and aarch64 is dropped here, and a
# second `-T` for the unwind tables would be too (cross/check.sh checks
# that no min binary has any).
min_zig_link_args() {
    echo "-Clink-arg=-T -Clink-arg=$TOP/cross/hot-text.ld"
}

# min_spec_rustflags TARGET: for a target built from a JSON spec
# (min_target), what .cargo/config.toml gives its rustc target, whose
# [target.TRIPLE] section does not apply to it.
min_spec_rustflags() {
    case $1:$(min_target "$1") in
        arm-unknown-linux-musleabihf:*.json)
            echo "-Ctarget-feature=+crt-static -Ctarget-cpu=arm1176jzf-s -Clink-arg=-Wl,-z,max-page-size=4096"
            ;;
    esac
}

build_min() {
    min_panic_strategy
    # For cross/armv6-thumb.json (min_target in cross/lib.sh).
    set -- -Zjson-target-spec
    for target in $TARGETS; do
        name=$(min_target_name "$target")
        # The rustflags are appended to the target's in .cargo/config.toml;
        # zig links with its own crt objects and libc, hence
        # link-self-contained=no. zig's lld takes the script that drops the
        # unwind tables (cross/discard-unwind.ld says why).
        # shellcheck disable=SC2046,SC2086 # lists of words
        set -- "$@" --target "$(min_target "$target")" \
            --config "target.$name.linker=\"$TOP/cross/zig-cc-$(short_name "$target")\"" \
            --config "target.$name.rustflags=$(toml_array $(min_rustflags "$target") \
                $(min_spec_rustflags "$target") -Clink-self-contained=no \
                $(min_zig_link_args "$target") ${PMTR_RUSTFLAGS:-})"
    done
    say "building min (nightly -Z build-std, immediate abort) for $TARGETS"
    # cross/zig-cc writes the map: zig takes no -Map, only --print-map.
    # A binary cargo finds up to date is not linked again, so one linked
    # before its map was kept (or with another script: cross/hot-check.sh
    # compares .text.hot) is removed first, and linked again.
    PMTR_ZIG_MAP_DIR=$(min_map_dir)
    export PMTR_ZIG_MAP_DIR
    mkdir -p "$PMTR_ZIG_MAP_DIR"
    for target in $TARGETS; do
        linked=$(cargo_out "$target" min)
        [ -f "$linked" ] || continue
        map=$PMTR_ZIG_MAP_DIR/min-$(short_name "$target").map
        if [ ! -s "$map" ] || ! map_is_of "$map" "$linked"; then
            say "min $(short_name "$target"): no linker map of the last link; linking it again"
            rm -f "$linked" "$(dirname "$linked")"/deps/pmtr-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]
        fi
    done
    # shellcheck disable=SC2086 # MIN_STD_ARGS and PMTR_CARGO_ARGS are lists of words
    run_cargo "$MIN_TARGET_DIR" cargo +"$NIGHTLY" build --release $MIN_STD_ARGS --target-dir "$MIN_TARGET_DIR" \
        ${PMTR_CARGO_ARGS:-} "$@"
    for target in $TARGETS; do
        install_dist "$target" min
    done
    # Whether cross/hot-text.ld still names the functions it was made for
    # (cross/hot-check.sh): reported here, a failure in cross/check.sh
    # (`make test`). Not here: cross/bloat.sh builds with a stale list
    # the binary that cross/hot-trace.sh traces to make it again.
    for target in $TARGETS; do
        sh "$TOP/cross/hot-check.sh" "$(short_name "$target")" \
            "$PMTR_ZIG_MAP_DIR/min-$(short_name "$target").map" "$(cargo_out "$target" min)" ||
            say "WARNING: cross/hot-text.ld is stale for $(short_name "$target") (above); cross/check.sh fails on it"
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
