#!/bin/sh
# Where pmtr's memory goes (issue 18): runs each binary given as
# `pmtr -F` with N jobs of /bin/sleep, waits until all run, optionally
# kills one job K times and waits for each restart (so the respawn path has
# run, as in steady state), then reads /proc/PID/smaps and prints the
# proportional set size (PSS) of each part:
#   text    the executable's code (r-x)
#   rodata  its read-only segment (.rodata, .eh_frame)
#   data    its writable file-backed segment (.data, .got)
#   bss     the zeroed memory right after it (.bss, the clone child stack)
#   heap    anonymous mappings (pmtr's heap regions and large blocks), [heap]
#   stack   the main thread's stack
#   vdso    [vdso] and [vvar]
#   sh cross/pss.sh [--jobs N] [--respawns K] BINARY...
# PSS_JOB_LINES: lines added to every job (e.g. "  user nobody" and a
# newline), to measure what an option costs per job.
# Binaries must run on this machine (x86_64). The figures are the sum over
# pmtr's own process (pmtr is one process); the jobs are not counted.
# A restart of a job that ran under 10 s waits 10 s (anti-spin, SPEC §5), so
# each respawn here costs about 10 s.
set -eu
# shellcheck source=cross/lib.sh
. "$(dirname "$0")/lib.sh"

jobs=1
respawns=0
while [ $# -gt 0 ]; do
    case $1 in
        --jobs) jobs=$2; shift ;;
        --respawns) respawns=$2; shift ;;
        -*) echo "usage: sh cross/pss.sh [--jobs N] [--respawns K] BINARY..." >&2; exit 2 ;;
        *) break ;;
    esac
    shift
done
[ $# -gt 0 ] || { echo "usage: sh cross/pss.sh [--jobs N] [--respawns K] BINARY..." >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/pmtr-pss.XXXXXX")
pid=""
cleanup() {
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM


children() { cat "/proc/$pid/task/$pid/children" 2>/dev/null || true; }
count_children() { n=0; for _ in $(children); do n=$((n + 1)); done; echo "$n"; }
all_running() { [ "$(count_children)" -eq "$jobs" ]; }
# replaced OLD: the job that had PID OLD has been restarted.
replaced() {
    [ "$(count_children)" -eq "$jobs" ] || return 1
    case " $(children) " in *" $1 "*) return 1 ;; esac
}

# smaps_table BIN: the breakdown of /proc/$pid/smaps.
smaps_table() {
    real=$(readlink -f "$1")
    awk -v bin="$real" '
    function flush() {
        if (cls == "") return
        size[cls] += sz; rss[cls] += rs; pss[cls] += ps; dirty[cls] += pd
        cls = ""
    }
    /^[0-9a-f]+-[0-9a-f]+ / {
        flush()
        split($1, r, "-"); start = r[1]; stop = r[2]
        perms = $2; path = (NF >= 6) ? $6 : ""
        if (path == bin) {
            if (perms ~ /x/) cls = "text"
            else if (perms ~ /w/) { cls = "data"; data_end = stop }
            else cls = "rodata"
        } else if (path == "[stack]") cls = "stack"
        else if (path == "[vdso]" || path ~ /^\[vvar/) cls = "vdso"
        else if (path == "[heap]") cls = "heap"
        else if (path == "" && start == data_end) cls = "bss"
        else if (path == "") cls = "heap"
        else cls = "other"
        sz = rs = ps = pd = 0
        next
    }
    $1 == "Size:" { sz = $2 }
    $1 == "Rss:" { rs = $2 }
    $1 == "Pss:" { ps = $2 }
    $1 == "Private_Dirty:" { pd = $2 }
    END {
        flush()
        printf "  %-8s %9s %9s %9s %9s\n", "part", "size KB", "RSS KB", "PSS KB", "dirty KB"
        n = split("text rodata data bss heap stack vdso other", order, " ")
        for (i = 1; i <= n; i++) {
            c = order[i]
            if (!(c in size)) continue
            printf "  %-8s %9d %9d %9d %9d\n", c, size[c], rss[c], pss[c], dirty[c]
            ts += size[c]; tr += rss[c]; tp += pss[c]; td += dirty[c]
        }
        printf "  %-8s %9d %9d %9d %9d\n", "total", ts, tr, tp, td
    }' "/proc/$pid/smaps"
}

i=1
while [ "$i" -le "$jobs" ]; do
    printf 'job {\n  name j%d\n  cmd /bin/sleep 100000\n%s}\n' "$i" "${PSS_JOB_LINES:-}"
    i=$((i + 1))
done >"$work/pmtr.conf"
chmod 600 "$work/pmtr.conf"

for bin do
    # No syslog daemon is spoken to: records go to the log file.
    PMTR_LOG_SOCKET="$work/no-such-socket" "$bin" -F -c "$work/pmtr.conf" >"$work/log" 2>&1 &
    pid=$!
    wait_for 20 all_running || { cat "$work/log" >&2; echo "pss.sh: $bin: the jobs did not start" >&2; exit 1; }
    k=0
    while [ "$k" -lt "$respawns" ]; do
        victim=""
        for child in $(children); do victim=${victim:-$child}; done
        # A job killed before it ran 10 s is restarted only after 10 s.
        wait_for 30 sh -c "[ \$(( \$(date +%s) - \$(stat -c %Y /proc/$victim) )) -ge 11 ]" || true
        kill -KILL "$victim"
        wait_for 30 replaced "$victim" || { echo "pss.sh: job $victim was not restarted" >&2; exit 1; }
        k=$((k + 1))
    done
    echo "$bin: pid $pid, $jobs job(s), $respawns respawn(s), $(wc -c <"$bin") bytes"
    smaps_table "$bin"
    kill -TERM "$pid"
    wait "$pid" || true
    pid=""
done
