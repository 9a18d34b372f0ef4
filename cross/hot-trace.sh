#!/bin/sh
# The functions pmtr's steady state runs, found on a real run, written as
# cross/hot-text.ld (issue 18, cross/SIZE-NOTES.md item 1).
#   sh cross/hot-trace.sh UNSTRIPPED_PMTR [OUT]
# UNSTRIPPED_PMTR: an x86_64 pmtr with its symbol table, e.g. from
# `make bloat` (target/bloat/dist/pmtr-x86_64-min). OUT defaults to
# cross/hot-text.ld.
#
# Why: after src/rt/trim.rs has given back pmtr's file pages, PSS counts
# the text pages the loop touches again. The functions it runs are spread
# over the whole file; the linker script this writes puts them first, in
# a few pages, on every target and flavour (the patterns name functions,
# not addresses, so one trace on x86_64 serves them all).
#
# How: pmtr -F runs one job (/bin/sleep) and logs to a datagram socket
# drained by this script, as /dev/log is on a device. Once the job has run
# past the 10 s anti-spin window, gdb attaches, puts a breakpoint on every
# function, and records which are entered while the job is SIGKILLed and
# restarted and `pmtr status` is asked (a respawn, its log lines and the
# control socket), then, with the log socket gone, while the new job is
# killed at once and restarted after the anti-spin wait (a quick exit,
# and log records with no syslog daemon to take them). To those it adds the loop itself (Supervisor::run,
# entered before gdb attached; the min build has no unwind tables, so gdb
# cannot find it on the stack) and every function of the clone child's
# path (gdb takes its breakpoints out while a vfork child runs, so it
# cannot see them): pmtr::spawn, pmtr::sys and musl's execve.
#
# The patterns drop the crate hashes of each Rust symbol, so the list keeps
# matching after unrelated changes; a pattern that no longer matches
# anything is ignored by the linker, and cross/hot-check.sh (run by
# cross/local-build.sh, a failure in `make test`) says which. gdb does
# not see everything (below): a qemu-user trace of the steady state
# (`qemu-x86_64 -d exec,nochain`, or qemu-arm for the 32-bit ARM builds)
# lists every block run, to compare with .text.hot. The names are those of the min
# flavour (nightly mangles with v0); the stable flavour's legacy names are
# not matched, so its layout is unchanged. Run it again after a large
# change to the loop, and compare with `sh cross/pss.sh --respawns 1`.
set -eu
# shellcheck source=cross/lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -ge 1 ] || { echo "usage: sh cross/hot-trace.sh UNSTRIPPED_PMTR [OUT]" >&2; exit 2; }
bin=$(readlink -f "$1")
top=$(cd "$(dirname "$0")/.." && pwd)
out=${2:-$top/cross/hot-text.ld}
command -v gdb >/dev/null || { echo "hot-trace: needs gdb (apt-get install gdb)" >&2; exit 1; }
if [ -z "$(nm "$bin" 2>/dev/null | head -n 1)" ]; then
    echo "hot-trace: $bin has no symbol table (build it with make bloat)" >&2
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/pmtr-hot.XXXXXX")
pid="" drain="" gdbpid=""
cleanup() {
    for p in $gdbpid $pid $drain; do kill -TERM "$p" 2>/dev/null || true; done
    for p in $gdbpid $pid $drain; do wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The log socket, drained, so records are sent as on a device.
hot_setup "$work"
PMTR_LOG_SOCKET="$work/log.sock" \
    "$bin" -F -c "$work/pmtr.conf" -s "$work/ctl.sock" >"$work/pmtr.log" 2>&1 &
pid=$!
wait_for 20 hot_one_child || { cat "$work/pmtr.log" >&2; echo "hot-trace: the job did not start" >&2; exit 1; }
job=$(hot_children)
job=${job%% *}
echo "hot-trace: pmtr $pid, job $job; waiting until the job is past anti-spin" >&2
sleep 11

# Every function symbol: address, name.
nm --defined-only "$bin" | awk '$2 ~ /^[tTwW]$/ { print $1, $3 }' >"$work/functions"

cat >"$work/trace.py" <<'EOF'
import gdb, os
work = os.environ["HOT_WORK"]
hits = set()
class Entry(gdb.Breakpoint):
    def stop(self):
        hits.add(self.name_)
        return False
gdb.execute("set pagination off")
gdb.execute("handle SIGSTOP stop print nopass")
bps = []
for line in open(work + "/functions"):
    addr, name = line.split()
    b = Entry("*0x" + addr, internal=True)
    b.name_ = name
    bps.append(b)
open(work + "/ready", "w").close()
try:
    gdb.execute("continue")
except gdb.error:
    pass
with open(work + "/hits", "w") as f:
    for n in sorted(hits):
        f.write(n + "\n")
for b in bps:
    b.delete()
gdb.execute("detach")
EOF
HOT_WORK=$work gdb -q -batch -p "$pid" -x "$work/trace.py" >"$work/gdb.log" 2>&1 &
gdbpid=$!
wait_for 300 test -e "$work/ready" || { cat "$work/gdb.log" >&2; echo "hot-trace: gdb did not attach" >&2; exit 1; }
echo "hot-trace: breakpoints set; killing job $job" >&2
kill -KILL "$job"
wait_for 60 hot_replaced "$job" || { cat "$work/pmtr.log" >&2; echo "hot-trace: the job was not restarted" >&2; exit 1; }
"$bin" status -s "$work/ctl.sock" >/dev/null 2>&1 || true
# Then the other steady state: no syslog daemon (the log socket gone, so
# each record tries to reconnect and goes to stderr), and a job that exits
# at once, restarted after the anti-spin wait.
kill -TERM "$drain"
wait "$drain" 2>/dev/null || true
drain=""
rm -f "$work/log.sock"
job=$(hot_children)
job=${job%% *}
kill -KILL "$job"
wait_for 60 hot_replaced "$job" || { cat "$work/pmtr.log" >&2; echo "hot-trace: the job was not restarted after anti-spin" >&2; exit 1; }
sleep 1
# SIGSTOP gives gdb control back without pmtr seeing a signal it acts on
# (SIGINT would trace the shutdown); gdb does not pass it on.
kill -STOP "$pid"
wait "$gdbpid" || true
gdbpid=""
kill -CONT "$pid"
[ -s "$work/hits" ] || { cat "$work/gdb.log" >&2; echo "hot-trace: gdb recorded nothing" >&2; exit 1; }

# The clone child's path, which gdb cannot see.
# And the loop itself (Supervisor::run), entered before gdb attached: the
# min build has no unwind tables, so gdb cannot see it on the stack.
# The C library's functions under every alias at their address: the
# input section is named after one of them (zig's own libc names dup2
# `c.unistd.dup2Linux`).
# And what the parent runs from the vfork until the job's start is read
# and watched, which gdb does not record either (a qemu-user trace of the
# same steady state, `qemu-x86_64 -d exec,nochain`, ran each of them at
# every restart, 2026-12-04: 7 cold pages on x86_64, 8 on armv7): the
# child's prctl, fcntl and open of rustix, spawn::read_start_result,
# event_loop::watch and Jobs::find_by_id.
awk '$2 ~ /4pmtr5spawn(11child_entry|10child_main|12open_streams|9open_onto|8dup_onto|4fail|9fail_with|17read_start_result)$/ ||
     $2 ~ /4pmtr10supervisor10event_loop5watch$/ || $2 ~ /4Jobs10find_by_id$/ ||
     $2 ~ /6rustix5prctl11prctl_2args$/ || $2 ~ /6rustix2fs5fcntl11fcntl_setfl/ || $2 ~ /6rustix2fs3abs4open/ ||
     $2 ~ /4pmtr3sys/ || $2 ~ /10Supervisor3run$/ ||
     $2 ~ /^(execve|dup2|dup3|fcntl|close|syscall|memset|memmove|memcmp|memcpy|__syscall_cp|__restore_sigs)$/ { print $1 }' \
    "$work/functions" | sort -u >"$work/child"
awk 'NR == FNR { want[$1] = 1; next } ($1 in want) { print $2 }' "$work/child" "$work/functions" >>"$work/hits"
# Functions out of line only on 32-bit targets (inlined in the x86_64
# build traced here) that the steady state calls: `Instant::secs_since`
# (a job's status on every state change), `metrics::wall_now` (every log
# line's time), and the 64-bit division of the min builds' `rt::div`
# (a log line's date, a duration): each had sat alone in a cold page on
# armv6. And those the qemu-user trace above found on armv6 and armv7
# alone (`qemu-arm -d exec,nochain`, 2026-12-04): rustix's pipe_with,
# `Vec<u8>::push`, `String == &str`, a numbered copy of
# `Global::allocate`, and bcmp (memcmp's twin, called by name there).
# The hash is a placeholder, made `*` below like the others.
# Listed apart, tagged with the targets where cross/hot-check.sh requires
# them to match (a name the trace found too stays with the traced ones).
{
    echo '_RNvMNtCs0_4pmtr5clockNtB2_7Instant10secs_since'
    echo '_RNvNtNtCs0_4pmtr10supervisor7metrics8wall_now'
    echo '__udivmoddi4'
    echo '__divmoddi4'
    echo '_RNvNtCs0_6rustix4pipe9pipe_with'
    echo '_RNvMsF_NtCs0_5alloc3vecINtB5_3VecPhE4pushCs0_4pmtr'
    echo '_RNvXs7_NtNtCs0_4core3cmp5implsRNtNtCs0_5alloc6string6StringINtB7_9PartialEqReE2eqCs0_4pmtr'
    echo '_RNvXs_NtCs0_5alloc5allocNtB4_6GlobalNtNtCs0_4core5alloc9Allocator8allocate.0'
    echo 'bcmp'
} >"$work/arm"
arm_tag='/* hot-check: armv6 armv7 */'

# The linker map of the traced build (cross/bloat.sh writes it beside the
# binary's directory), for each function's input section: `.text.NAME`
# for most, but `.text.unlikely.NAME` for a function LLVM deems cold
# (`#[cold]`, e.g. alloc's `do_reserve_and_handle`, which a pattern on
# `.text.NAME` never matched), and for the C library's assembly (musl's
# `__clone`) the `.text` of its archive member. Without a map, `.text.NAME`.
map=${HOT_MAP:-$(dirname "$bin")/../maps/min-$(basename "$bin" | sed 's/^pmtr-//; s/-min$//').map}
if [ -f "$map" ] && [ "$(wc -c <"$map")" -gt 0 ]; then
    awk '
        match($0, /:\([^()]*\)$/) && match($0, /^ *[0-9a-f]+ +[0-9a-f]+ +[0-9a-f]+ +[0-9]+ +[^ ]/) {
            name = $0; sub(/^ *[0-9a-f]+ +[0-9a-f]+ +[0-9a-f]+ +[0-9]+ +/, "", name)
            match(name, /:\([^()]*\)$/)
            path = substr(name, 1, RSTART - 1); sec = substr(name, RSTART + 2, RLENGTH - 3)
            if (sec ~ /^\.text\.unlikely\./) print "C", substr(sec, 16)
            # An archive member whose code is all in .text: "A sym pattern"
            # for its symbols, on the lines that follow.
            member = ""
            if (sec == ".text" && match(path, /[^\/]*\.a\(.*\)$/)) {
                ar = substr(path, RSTART, RLENGTH); sub(/\(.*/, "", ar)
                m = path; sub(/\)$/, "", m); sub(/.*\//, "", m)
                member = "*" ar ":*/" m
            }
            next
        }
        match($0, /^ *[0-9a-f]+ +[0-9a-f]+ +[0-9a-f]+ +[0-9]+ [^ ]/) { member = "" }
        member != "" && NF == 5 && $0 ~ /^ *[0-9a-f]+ +[0-9a-f]+ +[0-9a-f]+ +[0-9]+ +[^ ]+$/ { print "A", $5, member }
        NF < 5 || $0 !~ /^ *[0-9a-f]+ / { member = "" }
    ' "$map" >"$work/sections"
else
    echo "hot-trace: no linker map at $map (cross/bloat.sh writes it): every pattern names .text.NAME" >&2
    : >"$work/sections"
fi

# pattern_lines [TAG]: the names on stdin as input-section patterns.
# Crate disambiguators (v0 `Cs<base62>_`, legacy `17h<hash>E`) vary with
# flags and toolchains; the outliner's numbering with every build.
pattern_lines() {
    awk -v tag="${1:-}" '
        FILENAME != "-" && $1 == "C" { cold[$2] = 1; next }
        FILENAME != "-" && $1 == "A" { asm[$2] = $3; next }
        {
            n = $1
            if (n in asm) { line = asm[n] "(.text)" }
            else {
                prefix = (n in cold) ? ".text.unlikely." : ".text."
                gsub(/Cs[0-9A-Za-z]+_/, "Cs*_", n)
                sub(/17h[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]E$/, "17h*", n)
                sub(/\.[0-9]+$/, "*", n)
                line = "*(" prefix n ")"
            }
            print "        " line (tag == "" ? "" : " " tag)
        }
    ' "$work/sections" - | sort -u
}

{
    echo "/*"
    echo " * Generated by cross/hot-trace.sh from $(basename "$bin") on $(date -u +%Y-%m-%d):"
    echo " * the functions pmtr's steady state runs (a respawn, its log lines,"
    echo " * pmtr status), first in the code, in a few pages (issue 18; the"
    echo " * script says how they were found). Hashes are left out, so a"
    echo " * pattern matches every copy of a function and survives most changes."
    echo " * The linker ignores one that matches nothing (an impl block added"
    echo " * or removed renumbers the trait methods after it): cross/hot-check.sh"
    echo " * fails then, for the patterns required on a target, this trace's"
    echo " * target unless the line's \`hot-check:\` tag says otherwise."
    echo " * zig cc passes only the last"
    echo " * \`-T\` script to lld, so cross/discard-unwind.ld follows, verbatim."
    echo " */"
    echo "SECTIONS {"
    echo "    .text.hot : {"
    grep -v '^OUTLINED_FUNCTION_' "$work/hits" | pattern_lines >"$work/traced"
    cat "$work/traced"
    # The hand-added ones the trace did not find (by their patterns).
    pattern_lines "$arm_tag" <"$work/arm" |
        awk 'NR == FNR { have[$1] = 1; next } !($1 in have)' "$work/traced" -
    # Every piece of LLVM's machine outliner (about 1 KB on armv7, none
    # in Thumb-1): the hot functions call some of them, and by number
    # they cannot be named from one build to the next.
    echo "        *(.text.OUTLINED_FUNCTION_*) /* hot-check: none */"
    # What 32-bit ARM calls compiler_builtins for (64-bit multiply and
    # division entry points, 32-bit division, count of leading zeros,
    # armv6's byte atomics of the locks): about 600 bytes on armv6, each
    # on a log line's or a restart's way; nothing on 64-bit targets.
    echo "        *libcompiler_builtins-*.rlib:*(.text .text.*) $arm_tag"
    echo "    }"
    echo "} INSERT BEFORE .text;"
    echo
    cat "$TOP/cross/discard-unwind.ld"
} >"$out"
echo "hot-trace: $(sort -u "$work/hits" | wc -l) functions -> $out" >&2
