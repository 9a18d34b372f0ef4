#!/bin/sh
# Installs what the Docker-free builds and their qemu smoke tests need on a
# fresh machine of this kind (Debian, root, package registries only). Cheap
# when everything is already there.
#   - qemu-user (qemu-arm, qemu-aarch64), file, binutils and llvm (for
#     llvm-objcopy), from apt;
#   - rustup targets x86_64/aarch64-unknown-linux-musl on stable;
#   - a nightly toolchain with rust-src, for -Z build-std;
#   - zig (PyPI `ziglang`) in .venv/ at the top of the repo, the linker for
#     the size-optimised builds (cross/zig-cc).
set -eu
# shellcheck source=cross/lib.sh
. "$(dirname "$0")/lib.sh"

need_apt=""
command -v qemu-arm >/dev/null 2>&1 && command -v qemu-aarch64 >/dev/null 2>&1 || need_apt="$need_apt qemu-user"
command -v file >/dev/null 2>&1 || need_apt="$need_apt file"
command -v readelf >/dev/null 2>&1 || need_apt="$need_apt binutils"
# llvm-objcopy --strip-sections, for the binaries in target/dist (install_dist).
(objcopy_tool) >/dev/null 2>&1 || need_apt="$need_apt llvm"
# The virtualenv for zig needs venv and ensurepip (Debian splits them out).
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt="$need_apt python3 python3-venv"
if [ -n "$need_apt" ]; then
    if [ "$(id -u)" != 0 ]; then
        die "missing$need_apt: install with 'sudo apt-get install$need_apt' (or run as root)"
    fi
    say "installing$need_apt"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086 # a list of package names
    apt-get install -y -qq --no-install-recommends $need_apt >/dev/null
fi

command -v rustup >/dev/null 2>&1 || die "rustup is needed (https://rustup.rs)"

installed_targets=$(rustup +"$STABLE" target list --installed)
for target in $STABLE_LOCAL_TARGETS; do
    case " $(echo "$installed_targets" | tr '\n' ' ') " in
        *" $target "*) ;;
        *) say "rustup: adding $target to $STABLE"; rustup +"$STABLE" target add "$target" ;;
    esac
done

if ! rustup run "$NIGHTLY" rustc --version >/dev/null 2>&1; then
    say "rustup: installing $NIGHTLY"
    rustup toolchain install "$NIGHTLY" --profile minimal --component rust-src
fi
if ! rustup +"$NIGHTLY" component list --installed | grep -q '^rust-src'; then
    say "rustup: adding rust-src to $NIGHTLY"
    rustup +"$NIGHTLY" component add rust-src
fi

if ! [ -x "$TOP/.venv/bin/python3" ] || ! "$TOP/.venv/bin/python3" -c 'import ziglang' 2>/dev/null; then
    say "creating .venv with ziglang (zig's C toolchain, the musl linker)"
    python3 -m venv "$TOP/.venv" || die "python3 -m venv failed: on Debian install python3-venv"
    "$TOP/.venv/bin/python3" -m pip install --quiet --disable-pip-version-check ziglang
fi
