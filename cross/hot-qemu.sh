#!/bin/sh
# Which functions pmtr's steady state runs outside .text.hot, on any
# target (issue 18): the check of cross/hot-trace.sh's list against what
# really runs. cross/hot-check.sh says whether each pattern matches; this
# says whether a function the loop runs was left out.
#   sh cross/hot-qemu.sh UNSTRIPPED_PMTR [QEMU WORDS...]
#     e.g. sh cross/hot-qemu.sh target/bloat/dist/pmtr-x86_64-min qemu-x86_64
#          sh cross/hot-qemu.sh target/bloat/dist/pmtr-armv7-min qemu-arm -cpu cortex-a7
# UNSTRIPPED_PMTR: a min build with its symbols and sections (cross/bloat.sh).
# Runs it under qemu-user with `-d exec,nochain` (every block run is
# logged) as cross/hot-trace.sh runs it under gdb: one job (/bin/sleep,
# run natively), killed once past the 10 s anti-spin window, `pmtr
# status`, then the log socket gone and the job killed again at once
# (restarted after the anti-spin wait). Prints each function run after
# the first kill that is not in .text.hot, and the pages those touch.
# qemu-user runs the vfork child as a forked process; what the child runs
# is logged only as far as its log reaches the file before the exec.
set -eu
# shellcheck source=cross/lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -ge 2 ] || { echo "usage: sh cross/hot-qemu.sh UNSTRIPPED_PMTR QEMU [ARGS...]" >&2; exit 2; }
bin=$(readlink -f "$1")
shift
[ -n "$(nm "$bin" 2>/dev/null | head -n 1)" ] || die "$bin has no symbol table (build it with cross/bloat.sh)"

work=$(mktemp -d "${TMPDIR:-/tmp}/pmtr-hot-qemu.XXXXXX")
pid="" drain="" job=""
cleanup() {
    for p in $pid $drain $job; do kill -KILL "$p" 2>/dev/null || true; done
    for p in $pid $drain; do wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The log socket, drained, so records are sent as on a device.
hot_setup "$work"
PMTR_LOG_SOCKET="$work/log.sock" "$@" -d exec,nochain -D "$work/trace" \
    "$bin" -F -c "$work/pmtr.conf" -s "$work/ctl.sock" >"$work/pmtr.log" 2>&1 &
pid=$!
wait_for 30 hot_one_child || { cat "$work/pmtr.log" >&2; die "hot-qemu: the job did not start"; }
sleep 11
job=$(hot_children)
job=${job%% *}
mark=$(wc -c <"$work/trace")
kill -KILL "$job"
wait_for 60 hot_replaced "$job" || { cat "$work/pmtr.log" >&2; die "hot-qemu: the job was not restarted"; }
"$@" "$bin" status -s "$work/ctl.sock" >/dev/null 2>&1 || true
kill -TERM "$drain"
wait "$drain" 2>/dev/null || true
drain=""
job=$(hot_children)
job=${job%% *}
kill -KILL "$job"
wait_for 60 hot_replaced "$job" || { cat "$work/pmtr.log" >&2; die "hot-qemu: the job was not restarted after anti-spin"; }
sleep 1
job=$(hot_children)
job=${job%% *}
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
pid=""

# "Trace N: HOSTPTR [CS_BASE/PC/FLAGS/CFLAGS] SYMBOL": the guest PCs run
# after the mark, against the function symbols (Thumb's low bit cleared)
# and .text.hot's range.
tail -c +"$mark" "$work/trace" | sed -n 's/^Trace [0-9]*: [^ ]* \[[0-9a-f]*\/\([0-9a-f]*\)\/.*/\1/p' | sort -u >"$work/pcs"
readelf -SW "$bin" | sed 's/\[ */[/' | awk '$2 == ".text.hot" { print "H", $4, $6 }' >"$work/hot"
[ -s "$work/hot" ] || die "hot-qemu: $bin has no .text.hot"
nm -S --defined-only "$bin" | awk 'NF == 4 && $3 ~ /^[tTwW]$/ { print "S", $1, $2, $4 }
    NF == 3 && $2 ~ /^[tTwW]$/ && $3 !~ /^(\$|\.L)/ { print "S", $1, 0, $3 }' >"$work/syms"
cat "$work/hot" "$work/syms" "$work/pcs" | awk '
    function hex(h,    i, n) {
        h = tolower(h); n = 0
        for (i = 1; i <= length(h); i++) n = n * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
        return n
    }
    $1 == "H" { lo = hex($2); hi = lo + hex($3); next }
    $1 == "S" { a = hex($2); a -= a % 2; s[++ns] = a; z[ns] = hex($3); nm[ns] = $4; next }
    {
        pc = hex($1)
        if (pc >= lo && pc < hi) next
        # The function holding pc, or (assembly, no size) the last
        # symbol before it.
        name = ""; near = ""
        for (i = 1; i <= ns; i++) {
            if (z[i] && pc >= s[i] && pc < s[i] + z[i]) { name = nm[i]; break }
            if (pc >= s[i] && (near == "" || s[i] > nb)) { near = nm[i]; nb = s[i] }
        }
        if (name == "") name = near " (unsized)"
        page = int(pc / 4096)
        if (!(name in seen)) { seen[name] = 1; printf "  %x  page %x  %s\n", pc, page, name }
        pages[page] = 1
    }
    END {
        n = 0
        for (p in pages) n++
        printf "hot-qemu: %d cold page(s) run in the steady state\n", n
    }'
