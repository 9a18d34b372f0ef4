#!/bin/sh
# `make install` / `make uninstall`: sh init.d/install.sh install|uninstall
#
# install: the binary as $PREFIX/bin/pmtr (0755), and the companion
# programs pmtr-ctl and pmtr-rptserver (0755) when they were built beside
# it (a device needs only pmtr; the companions serve the machine that
# watches it); the
# example configuration as $SYSCONFDIR/pmtr.conf (0644) unless one exists,
# which is never overwritten; the boot integration that fits the host: the
# systemd unit where systemd runs, else the SysV script in
# $SYSCONFDIR/init.d, registered with update-rc.d where that exists. Then
# (re)starts pmtr, except when installing into a DESTDIR (packaging or a
# staging tree), which leaves the host alone.
#
# uninstall: stops pmtr, unregisters it, and removes what install added,
# leaving $SYSCONFDIR/pmtr.conf, which holds the operator's jobs.
#
# Environment (the Makefile exports the first three):
#   DESTDIR        staging root prepended to every path (default: none)
#   PREFIX         default /usr
#   SYSCONFDIR     default /etc
#   INIT           auto (default) | systemd | sysv | none: which boot
#                  integration; auto picks systemd if /run/systemd/system
#                  exists, else sysv
#   SYSTEMDUNITDIR default /etc/systemd/system: where an administrator's own
#                  units go (the same on every systemd distribution)
#   PMTR_BIN       the binary to install (default: the release build); the
#                  companions are taken from the same directory
#
# Plain POSIX sh with no install(1): busybox images lack it.

set -eu

usage() {
    echo "usage: $0 install|uninstall" >&2
    exit 2
}

[ $# -eq 1 ] || usage
action=$1

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr}
SYSCONFDIR=${SYSCONFDIR:-/etc}
SYSTEMDUNITDIR=${SYSTEMDUNITDIR:-/etc/systemd/system}
PMTR_BIN=${PMTR_BIN:-${CARGO_TARGET_DIR:-$top/target}/release/pmtr}
INIT=${INIT:-auto}

# Paths as the running system sees them, and where they are written.
bin=$PREFIX/bin/pmtr
conf=$SYSCONFDIR/pmtr.conf
script=$SYSCONFDIR/init.d/pmtr
unit=$SYSTEMDUNITDIR/pmtr.service
companions="pmtr-ctl pmtr-rptserver"

case "$INIT" in
    auto)
        if [ -d /run/systemd/system ]; then INIT=systemd; else INIT=sysv; fi
        ;;
    systemd | sysv | none) ;;
    *)
        echo "install.sh: INIT must be auto, systemd, sysv or none, not '$INIT'" >&2
        exit 2
        ;;
esac

# Acting on the running host (services, registration) only makes sense
# when the files land on it.
live() {
    [ -z "$DESTDIR" ]
}

say() {
    echo "pmtr: $*"
}

# Copies $1 to $3 with mode $2 through a temporary file and a rename, so
# that replacing a running binary works (writing into it fails with
# ETXTBSY) and nothing ever sees a half-written file.
put() {
    dir=$(dirname "$3")
    mkdir -p "$dir"
    tmp="$3.new.$$"
    cp "$1" "$tmp"
    chmod "$2" "$tmp"
    mv -f "$tmp" "$3"
    say "installed $3"
}

# Like put, with /usr/bin/pmtr, /etc/pmtr.conf and /etc/default/pmtr in
# the text replaced by the paths this installation uses.
put_edited() {
    tmp_src="${TMPDIR:-/tmp}/pmtr-install.$$"
    sed -e "s@/usr/bin/pmtr@$bin@g" \
        -e "s@/etc/pmtr\\.conf@$conf@g" \
        -e "s@/etc/default/pmtr@$SYSCONFDIR/default/pmtr@g" \
        "$1" >"$tmp_src"
    put "$tmp_src" "$2" "$3"
    rm -f "$tmp_src"
}

have() {
    command -v "$1" >/dev/null 2>&1
}

do_install() {
    if [ ! -f "$PMTR_BIN" ]; then
        echo "install.sh: $PMTR_BIN not found; run 'make' first" >&2
        exit 1
    fi

    put "$PMTR_BIN" 0755 "$DESTDIR$bin"
    for name in $companions; do
        companion=$(dirname "$PMTR_BIN")/$name
        if [ -f "$companion" ]; then
            put "$companion" 0755 "$DESTDIR$PREFIX/bin/$name"
        else
            say "no $companion built: $name not installed"
        fi
    done

    if [ -e "$DESTDIR$conf" ] || [ -L "$DESTDIR$conf" ]; then
        say "kept the existing $DESTDIR$conf"
    else
        put "$top/examples/pmtr.conf" 0644 "$DESTDIR$conf"
    fi

    case "$INIT" in
        systemd)
            put_edited "$here/pmtr.service" 0644 "$DESTDIR$unit"
            if live; then
                systemctl daemon-reload
                systemctl enable pmtr.service
                # restart, not start: a reinstall must run the new binary.
                systemctl restart pmtr.service
                say "running; see: systemctl status pmtr"
            fi
            ;;
        sysv)
            put_edited "$here/pmtr" 0755 "$DESTDIR$script"
            if live; then
                if have update-rc.d; then
                    update-rc.d pmtr defaults
                    say "registered with update-rc.d: starts at boot"
                else
                    say "no update-rc.d here. To start pmtr at boot, add this line to /etc/inittab:"
                    say "    ::respawn:$bin -F"
                    say "(or run '$script start' from your boot script)"
                fi
                "$script" restart
                say "running; see: $script status"
            fi
            ;;
        none) ;;
    esac
}

do_uninstall() {
    # Whatever flavour is present goes, whichever INIT says: the host may
    # have changed init systems since the install.
    if [ -f "$DESTDIR$unit" ]; then
        if live && have systemctl; then
            systemctl disable --now pmtr.service || true
        fi
        rm -f "$DESTDIR$unit"
        say "removed $DESTDIR$unit"
        if live && have systemctl; then
            systemctl daemon-reload || true
        fi
    fi
    if [ -f "$DESTDIR$script" ]; then
        if live; then
            "$script" stop || true
            if have update-rc.d; then
                update-rc.d -f pmtr remove || true
            fi
        fi
        rm -f "$DESTDIR$script"
        say "removed $DESTDIR$script"
    fi
    for name in $companions; do
        file=$DESTDIR$PREFIX/bin/$name
        # The program install put there, or the symlink to pmtr that
        # earlier builds installed; any other symlink stays.
        if { [ -f "$file" ] && [ ! -L "$file" ]; } ||
            { [ -L "$file" ] && [ "$(readlink "$file")" = pmtr ]; }; then
            rm -f "$file"
            say "removed $file"
        fi
    done
    if [ -f "$DESTDIR$bin" ]; then
        rm -f "$DESTDIR$bin"
        say "removed $DESTDIR$bin"
    fi
    if [ -e "$DESTDIR$conf" ]; then
        say "left $DESTDIR$conf in place (your jobs); delete it by hand if unwanted"
    fi
}

case "$action" in
    install) do_install ;;
    uninstall) do_uninstall ;;
    *) usage ;;
esac
