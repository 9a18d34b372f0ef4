#!/bin/sh
# `make cross`: builds pmtr for every device target with `cross` (needs a
# running Docker or Podman engine) and copies each binary to target/dist/.
#   sh cross/build.sh [release] [min]      (default: both)
#
# release: cross +stable build --release --target T
# min:     cross +nightly build --release --target T -Z build-std
#          with the immediate-abort panic strategy, in target/min
# Without a container engine, `make cross-check` builds the same targets
# (min for all four, release for x86_64 and aarch64) with zig instead.
set -eu
# shellcheck source=cross/lib.sh
. "$(dirname "$0")/lib.sh"

export CROSS_CONFIG="$TOP/cross/Cross.toml"
# x86_64 and aarch64 link with rust-lld, as .cargo/config.toml says; the
# cross images name their gcc in these variables, which would win over it,
# and GNU ld cannot take cross/discard-unwind.ld. Cross.toml passes them
# into the container. (Not exercised by CI, which has no Docker engine.)
export CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_LINKER=rust-lld
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=rust-lld
cd "$TOP"

command -v cross >/dev/null 2>&1 ||
    die "cross is not installed: 'cargo install cross --locked' (and Docker or Podman); without a container engine use 'make cross-check'"
engine=${CROSS_CONTAINER_ENGINE:-}
if [ -z "$engine" ]; then
    if command -v docker >/dev/null 2>&1; then engine=docker; else engine=podman; fi
fi
"$engine" info >/dev/null 2>&1 ||
    die "no running container engine ($engine info failed): start Docker, or use 'make cross-check' (no Docker needed)"

build_release() {
    for target in $TARGETS; do
        say "cross: release $target"
        set --
        flags=$(release_rustflags "$target")
        # shellcheck disable=SC2086 # a list of words
        [ -z "$flags" ] || set -- --config "target.$target.rustflags=$(toml_array $flags)"
        cross +"$STABLE" build --release --target "$target" --target-dir "$STABLE_TARGET_DIR" "$@"
        install_dist "$target" release
    done
}

build_min() {
    # The host toolchain is mounted into the container: rust-src must be
    # there for -Z build-std.
    rustup +"$NIGHTLY" component list --installed | grep -q '^rust-src' ||
        rustup +"$NIGHTLY" component add rust-src
    min_panic_strategy
    for target in $TARGETS; do
        say "cross: min $target"
        # shellcheck disable=SC2046,SC2086 # lists of words
        cross +"$NIGHTLY" build --release --target "$target" --target-dir "$MIN_TARGET_DIR" \
            $MIN_STD_ARGS --config "target.$target.rustflags=$(toml_array $(min_rustflags "$target"))"
        install_dist "$target" min
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
sh "$TOP/cross/sizes.sh" --no-build
