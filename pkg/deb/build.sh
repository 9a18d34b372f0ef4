#!/bin/sh
# `make deb`: Debian packages of pmtr, made with dpkg-deb alone. No
# debhelper: the package is three static binaries and a few text files, and
# the maintainer scripts beside this file do what debhelper's snippets do,
# with fallbacks for hosts without Debian's init-system-helpers.
#
#   sh pkg/deb/build.sh                     all three, from the min builds
#   sh pkg/deb/build.sh ARCH BINDIR OUTDIR  one, from the binaries in BINDIR
#
# The first form builds the size-optimised ("min") flavour with
# cross/local-build.sh (nightly and zig, which cross/setup.sh installs) and
# writes target/deb/pmtr_VERSION_ARCH.deb for:
#   armhf  arm-unknown-linux-musleabihf, ARMv6 with VFP: Raspberry Pi OS
#          32-bit is armv6 hard-float, so this one package runs on every Pi
#          from the Zero and 1 to the 4 (and a 5 on the 32-bit system);
#   arm64  aarch64-unknown-linux-musl: 64-bit Raspberry Pi OS, Debian arm64;
#   amd64  x86_64-unknown-linux-musl.
# The second form packages whatever BINDIR holds (pmtr, pmtr-ctl,
# pmtr-rptserver); tests/it/deb.rs uses it with the stable x86_64 build.
#
# Environment:
#   PMTR_DEB_VERSION   package version; default Cargo.toml's, which must then
#                      be the top entry of pkg/deb/changelog. Any other
#                      version (a local rebuild, the tests' upgrade) gets an
#                      entry of its own at the top of the packaged changelog.
#   SOURCE_DATE_EPOCH  timestamp of every file in the package; default the
#                      date of the top changelog entry, so the same inputs
#                      give the same .deb byte for byte.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

say() { printf 'deb: %s\n' "$*"; }
die() { printf 'deb: FAIL: %s\n' "$*" >&2; exit 1; }

# The version in Cargo.toml's [package] table.
cargo_version() {
    sed -n '/^\[package\]/,/^\[/s/^version *= *"\(.*\)"$/\1/p' "$top/Cargo.toml" | head -n 1
}

# The version and the date (RFC 2822) of the changelog's top entry.
changelog_version() {
    sed -n '1s/^pmtr (\([^)]*\)).*/\1/p' "$here/changelog"
}
changelog_date() {
    sed -n 's/^ -- .*>  \(.*\)$/\1/p' "$here/changelog" | head -n 1
}

# Installed-Size as dpkg-gencontrol counts it: each file rounded up to a
# KiB, plus one KiB per directory and symlink.
installed_size() {
    find "$1" -path "$1/DEBIAN" -prune -o ! -path "$1" -printf '%y %s\n' |
        awk '$1 == "f" { kib += int(($2 + 1023) / 1024); next } { kib += 1 } END { print kib }'
}

# put MODE SOURCE DEST: copy into the staging tree with MODE, making the
# directories (0755) on the way; umask must not decide what dpkg installs.
put() {
    install -d -m 0755 "$(dirname "$3")"
    install -m "$1" "$2" "$3"
}

# put_gz SOURCE DEST: gzip -9n, as lintian wants man pages and changelogs
# (-n: no name or time stamp inside, so the output is reproducible).
put_gz() {
    install -d -m 0755 "$(dirname "$2")"
    gzip -9nc "$1" >"$2"
    chmod 0644 "$2"
}

# build_one ARCH BINDIR OUTDIR
build_one() {
    arch=$1
    bindir=$2
    outdir=$3
    case $arch in
        armhf | arm64 | amd64) ;;
        *) die "unknown architecture '$arch' (armhf, arm64 or amd64)" ;;
    esac
    for prog in pmtr pmtr-ctl pmtr-rptserver; do
        [ -f "$bindir/$prog" ] || die "$bindir/$prog not found (build it first)"
    done

    version=${PMTR_DEB_VERSION:-$(cargo_version)}
    [ -n "$version" ] || die "no version in $top/Cargo.toml"
    logged=$(changelog_version)
    if [ -z "${PMTR_DEB_VERSION:-}" ] && [ "$version" != "$logged" ]; then
        die "Cargo.toml says $version but pkg/deb/changelog's top entry is $logged: add an entry for $version"
    fi
    date=$(changelog_date)
    [ -n "$date" ] || die "no date in pkg/deb/changelog's top entry"
    : "${SOURCE_DATE_EPOCH:=$(date -d "$date" +%s)}"
    export SOURCE_DATE_EPOCH

    mkdir -p "$outdir"
    stage=$(mktemp -d "${TMPDIR:-/tmp}/pmtr-deb.XXXXXX")
    # The staging tree is ours alone; remove it however we leave.
    trap 'rm -rf "$stage"' EXIT
    chmod 0755 "$stage"

    # Programs. The companions go in the same package: together about
    # half the size of pmtr, and idle unless called (README, "Install").
    for prog in pmtr pmtr-ctl pmtr-rptserver; do
        put 0755 "$bindir/$prog" "$stage/usr/bin/$prog"
    done

    # Boot integration: the same files `make install` installs, unchanged
    # (their paths are already the packaged ones). The unit goes where
    # packages put theirs on Debian 12 / Raspberry Pi OS; /etc/systemd/system
    # stays the administrator's.
    put 0755 "$top/init.d/pmtr" "$stage/etc/init.d/pmtr"
    put 0644 "$top/init.d/pmtr.service" "$stage/lib/systemd/system/pmtr.service"

    # Configuration, all three conffiles (DEBIAN/conffiles).
    put 0644 "$here/pmtr.conf" "$stage/etc/pmtr.conf"
    put 0644 "$here/default" "$stage/etc/default/pmtr"

    # Documentation.
    doc=$stage/usr/share/doc/pmtr
    put 0644 "$here/copyright" "$doc/copyright"
    changelog=$stage/changelog
    if [ "$version" != "$logged" ]; then
        {
            printf 'pmtr (%s) unstable; urgency=medium\n\n' "$version"
            printf '  * Local build of pmtr %s from the same sources.\n\n' "$version"
            printf ' -- %s  %s\n\n' "$(sed -n 's/^ -- \(.*>\)  .*$/\1/p' "$here/changelog" | head -n 1)" \
                "$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
            cat "$here/changelog"
        } >"$changelog"
    else
        cp "$here/changelog" "$changelog"
    fi
    put_gz "$changelog" "$doc/changelog.gz"
    rm -f "$changelog"
    put_gz "$top/README.md" "$doc/README.md.gz"
    put 0644 "$top/examples/pmtr.conf" "$doc/examples/pmtr.conf"
    put_gz "$here/man/pmtr.8" "$stage/usr/share/man/man8/pmtr.8.gz"
    put_gz "$here/man/pmtr-ctl.1" "$stage/usr/share/man/man1/pmtr-ctl.1.gz"
    put_gz "$here/man/pmtr-rptserver.1" "$stage/usr/share/man/man1/pmtr-rptserver.1.gz"
    put 0644 "$here/lintian-overrides" "$stage/usr/share/lintian/overrides/pmtr"

    # Control area.
    install -d -m 0755 "$stage/DEBIAN"
    for script in postinst prerm postrm; do
        install -m 0755 "$here/$script" "$stage/DEBIAN/$script"
    done
    install -m 0644 "$here/conffiles" "$stage/DEBIAN/conffiles"
    sed -e "s/@VERSION@/$version/" \
        -e "s/@ARCH@/$arch/" \
        -e "s/@SIZE@/$(installed_size "$stage")/" \
        "$here/control" >"$stage/DEBIAN/control"
    chmod 0644 "$stage/DEBIAN/control"
    # md5sums of everything but the conffiles, which dpkg tracks itself.
    (
        cd "$stage"
        find . -path ./DEBIAN -prune -o -type f -print | LC_ALL=C sort |
            awk 'NR == FNR { conffile["." $0]; next } !($0 in conffile)' "$here/conffiles" - |
            sed 's@^\./@@' | xargs md5sum
    ) >"$stage/DEBIAN/md5sums"
    chmod 0644 "$stage/DEBIAN/md5sums"

    find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

    deb=$outdir/pmtr_${version}_$arch.deb
    dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
    rm -rf "$stage"
    trap - EXIT
    say "built $deb ($(wc -c <"$deb") bytes)"
}

# All three from the min flavour, whose cargo output for TARGET is
# $target_dir/min/NAME/release (cross/lib.sh, cargo_out): NAME is the
# target, except armv6, built from cross/armv6-thumb.json (Thumb-1 code).
build_all() {
    target_dir=${CARGO_TARGET_DIR:-$top/target}
    sh "$top/cross/setup.sh"
    sh "$top/cross/local-build.sh" min
    out=$target_dir/deb
    for pair in armhf:armv6-thumb arm64:aarch64-unknown-linux-musl \
        amd64:x86_64-unknown-linux-musl; do
        build_one "${pair%%:*}" "$target_dir/min/${pair#*:}/release" "$out"
    done
    # A report, not a gate: a newer lintian elsewhere may know new tags.
    # tests/it/deb.rs holds the package to this machine's lintian.
    if command -v lintian >/dev/null 2>&1; then
        say "lintian:"
        lintian "$out"/pmtr_*.deb || say "lintian found problems (see above)"
    else
        say "lintian not installed: packages not checked (apt-get install lintian)"
    fi
}

case $# in
    0) build_all ;;
    3) build_one "$1" "$2" "$3" ;;
    *)
        echo "usage: sh pkg/deb/build.sh [ARCH BINDIR OUTDIR]" >&2
        exit 2
        ;;
esac
