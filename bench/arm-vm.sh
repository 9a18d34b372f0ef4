#!/bin/sh
# Memory of pmtr (and, if given, the original C pmtr) on a real 32-bit ARM
# kernel: boots Debian's armmp kernel under qemu-system-arm (-M virt, a
# Cortex-A7) with an initramfs made here from busybox-static:armhf and the
# binaries to measure. In the VM each binary supervises one job (busybox
# `sleep`); once the job has run past the 10 s anti-spin window, it is
# killed and restarted (the steady state: the respawn path has run, as in
# `cross/pss.sh --respawns 1`), and then the PSS of the supervisor's own
# processes (the job left out) is summed from /proc/PID/smaps_rollup.
# About 14 s per run.
#
#   sh bench/arm-vm.sh [--reps N] [NAME=PATH ...]
#
# Without NAME=PATH arguments it measures target/dist/pmtr-armv7-min and
# pmtr-armv6-min (sh cross/local-build.sh min), plus pmtr-armv7 and
# pmtr-armv6 if `make cross` left them. Prints one line per binary and run
# on stdout, which `bench.py --only arm` parses:
#   ARMVM kernel RELEASE MACHINE
#   ARMVM result NAME BYTES PSS_KB RSS_KB PROCESSES
#   ARMVM fail NAME WHY
#
# qemu-user cannot stand in for this: it emulates pmtr's
# clone(CLONE_VM|CLONE_VFORK) with a plain fork and has no kernel of its
# own to count pages. The kernel and busybox are package downloads (apt-get
# download, armhf added as a foreign architecture) kept in
# bench/out/arm-vm/; nothing else is fetched. From a warm cache a run takes
# a few seconds per binary plus the boot (about 3 s here, 30 s on a
# loaded machine).
set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${PMTR_ARM_CACHE:-$TOP/bench/out/arm-vm}
REPS=3
# The whole VM run; a hung boot must not hang `make bench-arm`.
TIMEOUT_S=${PMTR_ARM_TIMEOUT:-900}

say() { printf 'arm-vm: %s\n' "$*" >&2; }
die() { printf 'arm-vm: FAIL: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case $1 in
        --reps) REPS=$2; shift 2 ;;
        --reps=*) REPS=${1#--reps=}; shift ;;
        -h | --help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        --) shift; break ;;
        -*) die "unknown option $1" ;;
        *) break ;;
    esac
done
case $REPS in '' | *[!0-9]*) die "--reps takes a number" ;; esac

if [ $# -eq 0 ]; then
    for short in armv7 armv6; do
        for suffix in -min ""; do
            bin=$TOP/target/dist/pmtr-$short$suffix
            [ -f "$bin" ] && set -- "$@" "pmtr-$short$suffix=$bin"
        done
    done
    [ $# -gt 0 ] || die "no ARM build in target/dist/: run 'sh cross/local-build.sh min' first"
fi
for arg do
    case $arg in
        *=*) ;;
        *) die "'$arg' is not NAME=PATH" ;;
    esac
    name=${arg%%=*}
    case $name in '' | *[!A-Za-z0-9._-]*) die "bad name '$name' (letters, digits, . _ -)" ;; esac
    [ -f "${arg#*=}" ] || die "$name: no file ${arg#*=}"
done

# --- tools -------------------------------------------------------------------

need=""
command -v qemu-system-arm >/dev/null 2>&1 || need="$need qemu-system-arm"
command -v cpio >/dev/null 2>&1 || need="$need cpio"
if [ -n "$need" ]; then
    [ "$(id -u)" = 0 ] || die "missing$need: install with 'sudo apt-get install$need'"
    say "installing$need"
    # shellcheck disable=SC2086 # a list of package names
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null \
        || die "apt-get install$need failed"
fi

# --- kernel and busybox (armhf packages, cached) -----------------------------

# apt_download PACKAGE...: into the current directory. The sandbox user
# cannot write to a root-owned cache directory, hence root.
apt_download() {
    apt-get -o APT::Sandbox::User=root download "$@" >&2
}

# kernel_package: the armmp kernel image the metapackage points at now.
kernel_package() {
    apt-cache depends linux-image-armmp:armhf 2>/dev/null \
        | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }'
}

fetch_packages() {
    [ "$(id -u)" = 0 ] || die "the first run downloads Debian's armhf kernel and busybox with apt-get: run it as root"
    if ! dpkg --print-foreign-architectures | grep -qx armhf; then
        say "adding armhf as a foreign architecture (for apt-get download only)"
        dpkg --add-architecture armhf
    fi
    pkg=$(kernel_package)
    if [ -z "$pkg" ]; then
        say "apt-get update (armhf package lists)"
        # One mirror mid-sync makes update exit non-zero while the lists
        # needed here arrived; the look-up below decides.
        apt-get update -qq >&2 || true
        pkg=$(kernel_package)
    fi
    [ -n "$pkg" ] || die "apt-cache finds no linux-image-armmp:armhf"
    debs=$(mktemp -d "$CACHE/debs.XXXXXX")
    (cd "$debs" && apt_download "$pkg" busybox-static:armhf) \
        || die "apt-get download $pkg busybox-static:armhf failed"
    dpkg-deb -x "$debs"/linux-image-*.deb "$debs/kernel"
    dpkg-deb -x "$debs"/busybox-static_*.deb "$debs/busybox"
    for f in "$debs"/kernel/boot/vmlinuz-*; do
        cp "$f" "$CACHE/${f##*/}"
    done
    cp "$debs/busybox/bin/busybox" "$CACHE/busybox-armhf"
    rm -rf "$debs"
}

mkdir -p "$CACHE"
kernel=$(find "$CACHE" -maxdepth 1 -name 'vmlinuz-*-armmp' | sort | tail -n 1)
if [ -z "$kernel" ] || ! [ -f "$CACHE/busybox-armhf" ]; then
    fetch_packages
    kernel=$(find "$CACHE" -maxdepth 1 -name 'vmlinuz-*-armmp' | sort | tail -n 1)
fi
[ -n "$kernel" ] || die "no armmp kernel in $CACHE"

# --- initramfs -----------------------------------------------------------------

work=$(mktemp -d "${TMPDIR:-/tmp}/pmtr-arm-vm.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root/bin" "$root/proc" "$root/dev" "$root/tmp" "$root/bench"
cp "$CACHE/busybox-armhf" "$root/bin/busybox"
order=""
for arg do
    name=${arg%%=*}
    cp "${arg#*=}" "$root/bench/$name"
    chmod 755 "$root/bench/$name"
    order="$order $name"
done

# The VM's /init. One supervisor at a time, REPS runs each, in the order
# given. The job is busybox `sleep`, so its pages are not the
# supervisor's; the C pmtr's helpers (pmtr-log, pmtr-dep) are children of
# the supervisor and are counted, the job (comm "sleep") is not.
cat >"$root/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
REPS=$REPS
ORDER="$order"
EOF
cat >>"$root/init" <<'EOF'

children() { cat "/proc/$1/task/$1/children" 2>/dev/null; }
comm() { cat "/proc/$1/comm" 2>/dev/null; }

# kb PID KEY: KEY summed over smaps_rollup (one line), or over smaps on a
# kernel without it.
kb() {
    f=/proc/$1/smaps_rollup
    [ -r "$f" ] || f=/proc/$1/smaps
    awk -v k="$2:" '$1 == k { s += $2 } END { print s + 0 }' "$f"
}

# wait_job NAME OLD WHAT: sets job to the supervisor's (pid) job other
# than OLD, waiting up to 30 s; if there is none, prints why, stops the
# supervisor and fails.
wait_job() {
    job=""
    tries=0
    while [ -z "$job" ]; do
        for c in $(children "$pid"); do
            [ "$c" != "$2" ] && [ "$(comm "$c")" = sleep ] && job=$c
        done
        [ -n "$job" ] && return 0
        tries=$((tries + 1))
        why=""
        [ -d "/proc/$pid" ] || why="exited before its job could $3"
        [ $tries -le 300 ] || why="its job did not $3 within 30 s"
        if [ -n "$why" ]; then
            echo "ARMVM fail $1 $why: $(tail -n 3 "$dir/log" | tr '\n' '|')"
            kill -KILL "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
            return 1
        fi
        usleep 100000
    done
}

measure() {
    bin=/bench/$1
    dir=/tmp/$1.$2
    mkdir -p "$dir/etc"
    printf 'job {\n  name s\n  cmd /bin/sleep 3600\n}\n' >"$dir/etc/pmtr.conf"
    PMTR_LOG_SOCKET=$dir/no-syslog "$bin" -F -c "$dir/etc/pmtr.conf" >"$dir/log" 2>&1 &
    pid=$!
    wait_job "$1" "" "start" || return
    # The steady state: past the anti-spin window the job is killed and
    # restarted at once, so what a respawn and its log lines touch is in
    # the figure too.
    sleep 11
    kill -KILL "$job"
    wait_job "$1" "$job" "be restarted" || return
    # As on x86_64 (bench.py): settle for a second after the job reports.
    sleep 1
    own=$pid
    for c in $(children "$pid"); do
        [ "$(comm "$c")" = sleep ] || own="$own $c"
    done
    # pmtr catches SIGHUP, SIGINT, SIGTERM and SIGCHLD with a handler
    # that never runs (they stay blocked for its signalfd), so that as
    # PID 1 of a namespace the kernel does not discard them; on ARM the
    # handler is set by the system call itself (src/sys). Bits 0, 1, 14,
    # 16 of SigCgt.
    case $1 in
        pmtr-c*) ;;
        pmtr*)
            cgt=$(awk '$1 == "SigCgt:" { print $2 }' "/proc/$pid/status")
            if [ $((0x${cgt#????????} & 0x14003)) -ne $((0x14003)) ]; then
                echo "ARMVM fail $1 catches no SIGHUP/SIGINT/SIGTERM/SIGCHLD (SigCgt $cgt)"
                kill -KILL "$pid" "$job" 2>/dev/null
                wait "$pid" 2>/dev/null
                return
            fi
            ;;
    esac
    pss=0; rss=0; n=0
    for p in $own; do
        pss=$((pss + $(kb "$p" Pss)))
        rss=$((rss + $(kb "$p" Rss)))
        n=$((n + 1))
    done
    echo "ARMVM result $1 $(wc -c <"$bin") $pss $rss $n"
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null
    # Both stop their job on SIGTERM; this only makes sure no job of one
    # run is left beside the next.
    kill -KILL "$job" 2>/dev/null
}

echo "ARMVM kernel $(uname -r) $(uname -m)"
for name in $ORDER; do
    i=1
    while [ "$i" -le "$REPS" ]; do
        measure "$name" "$i"
        i=$((i + 1))
    done
done
echo "ARMVM done"
poweroff -f
EOF
chmod 755 "$root/init"
(cd "$root" && find . | cpio -o -H newc 2>/dev/null) | gzip -1 >"$work/initrd.gz"

# --- boot ----------------------------------------------------------------------

say "booting ${kernel##*/} (qemu-system-arm -M virt -cpu cortex-a7) for$order, $REPS runs each"
start=$(date +%s)
# highmem=off: the armmp kernel has no LPAE, so no device may sit above 4 GB.
# -nic none: no network (and no option ROM to look for).
status=0
timeout "$TIMEOUT_S" qemu-system-arm -M virt,highmem=off -cpu cortex-a7 -smp 1 -m 256 \
    -nographic -nic none -no-reboot \
    -kernel "$kernel" -initrd "$work/initrd.gz" \
    -append "console=ttyAMA0 rdinit=/init quiet panic=-1" \
    </dev/null >"$work/console.log" 2>&1 || status=$?
tr -d '\r' <"$work/console.log" | grep '^ARMVM ' || true
say "VM ran $(($(date +%s) - start)) s"
if ! grep -q '^ARMVM done' "$work/console.log"; then
    say "the VM did not finish (qemu status $status); console:"
    tail -n 20 "$work/console.log" >&2
    exit 1
fi
