#!/bin/sh
# Installs what `make test` needs on a fresh machine of this kind (Debian,
# root). Cheap when everything is already there.
set -eu

need_apt=""
# g++: libfuzzer-sys compiles libFuzzer (make fuzz).
for pkg in busybox shellcheck qemu-user strace util-linux procps tzdata g++; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need_apt="$need_apt $pkg"
done
if [ -n "$need_apt" ]; then
    echo "setup: installing$need_apt"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $need_apt >/dev/null
fi

for comp in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$comp" || rustup component add "$comp"
done

# make unit-i686: the unit tests on 32-bit x86 (linked by rust-lld, see
# .cargo/config.toml, so no 32-bit C toolchain is needed).
rustup target list --installed 2>/dev/null | grep -qx i686-unknown-linux-musl ||
    rustup target add i686-unknown-linux-musl
