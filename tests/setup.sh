#!/bin/sh
# Installs what `make test` needs on a fresh machine of this kind (Debian,
# root). Cheap when everything is already there.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)

need_apt=""
for pkg in busybox shellcheck qemu-user strace util-linux procps tzdata lintian g++ systemd python3; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need_apt="$need_apt $pkg"
done
# pip, for the PyPI package below (any python3 with pip will do).
python3 -m pip --version >/dev/null 2>&1 || need_apt="$need_apt python3-pip"
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

# tests/it/deb.rs installs the package into a chroot built on the static
# x86_64 build of pmtr...
if ! rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl; then
    rustup target add x86_64-unknown-linux-musl
fi

# ...and Debian's static busybox. The busybox-static package conflicts with
# the busybox above (which other tests run), so its binary is unpacked into
# the target directory instead of installed.
bb_static=${CARGO_TARGET_DIR:-$top/target}/test-tools/busybox-static
if [ ! -x "$bb_static" ]; then
    echo "setup: fetching busybox-static into $bb_static"
    work=$(mktemp -d)
    # apt fetches as _apt where it can; a private directory it cannot
    # write only costs a warning, so keep the download in a 0755 one.
    chmod 0755 "$work"
    (cd "$work" && { apt-get download busybox-static 2>/dev/null ||
        { apt-get update -qq && apt-get download busybox-static; }; }) >/dev/null
    dpkg-deb -x "$work"/busybox-static_*.deb "$work/x"
    mkdir -p "$(dirname "$bb_static")"
    install -m 0755 "$work/x/bin/busybox" "$bb_static"
    rm -rf "$work"
fi

# make unit-i686: the unit tests on 32-bit x86 (linked by rust-lld, see
# .cargo/config.toml, so no 32-bit C toolchain is needed).
rustup target list --installed 2>/dev/null | grep -qx i686-unknown-linux-musl ||
    rustup target add i686-unknown-linux-musl

# tests/it/ready.rs tries sd_notify clients nobody here wrote:
# systemd-notify (the systemd package above) and python's sdnotify from
# PyPI, installed for the system python3 the jobs run, beside the
# busybox above (--target: a directory of its own, outside the system's
# packages).
py=${CARGO_TARGET_DIR:-$top/target}/test-tools/py
if [ ! -f "$py/sdnotify/__init__.py" ]; then
    echo "setup: installing sdnotify (PyPI) into $py"
    python3 -m pip install --quiet --disable-pip-version-check \
        --root-user-action=ignore --target "$py" sdnotify
fi
