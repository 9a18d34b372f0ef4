#!/bin/sh
# Smoke test of one pmtr binary, run under qemu-user for foreign CPUs
# (SPEC §1, §4, §5):
#   sh cross/smoke.sh LABEL BINARY [RUNNER WORDS...]
# e.g. sh cross/smoke.sh armv6-min target/dist/pmtr-armv6-min qemu-arm -cpu arm1176
#
# Checks, in order:
#   1. `--version` and `-h` exit 0 and print the version / usage;
#   2. `-t -c examples/pmtr.conf` exits 0; `-t` on a broken file exits
#      non-zero naming FILE:LINE:COL;
#   3. `-F -c CONF` with one job that appends its PID to a file: the job
#      starts; killed, it is restarted (after the 10 s anti-spin wait, as it
#      ran less than 10 s); SIGTERM to pmtr makes it stop the job and exit 0.
# Prints one line per check; exits 1 at the first failure with pmtr's
# output. Waits poll for a condition with generous deadlines (qemu is slow
# to start); nothing is timed for pass/fail.
set -eu
# shellcheck source=cross/lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -ge 2 ] || { echo "usage: smoke.sh LABEL BINARY [RUNNER...]" >&2; exit 2; }
label=$1
bin=$2
shift 2
# What remains in "$@" is the runner (qemu-arm -cpu ...), maybe nothing.

top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/pmtr-smoke-$label.XXXXXX")
pmtr_pid=""

# Stop only what this script started, by PID.
cleanup() {
    if [ -n "$pmtr_pid" ] && kill -0 "$pmtr_pid" 2>/dev/null; then
        kill -KILL "$pmtr_pid" 2>/dev/null || true
    fi
    if [ -s "$work/pids" ]; then
        while read -r job_pid; do
            kill -KILL "$job_pid" 2>/dev/null || true
        done <"$work/pids"
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

pass() { printf '%s: ok    %s\n' "$label" "$*"; }
# Set before each step: the output shown if the step fails.
log=/dev/null
fail() {
    printf '%s: FAIL  %s\n' "$label" "$*" >&2
    if [ -s "$log" ]; then
        printf -- '--- pmtr output (%s, last 40 lines) ---\n' "$label" >&2
        tail -n 40 "$log" >&2
        printf -- '---\n' >&2
    fi
    exit 1
}

# How a status reads: "exit status N" or "signal N" (128+N from the shell).
# A panic ends in SIGABRT in the release flavour (after its message) and
# in SIGILL (arm, x86_64) or SIGTRAP (aarch64) in the min flavour, silently.
describe() {
    case $1 in
        132 | 133 | 134) echo "signal $(($1 - 128)) (a panic? the release build prints its message)" ;;
        129 | 13[0-9] | 1[4-9][0-9] | 2[0-9][0-9]) echo "signal $(($1 - 128))" ;;
        *) echo "exit status $1" ;;
    esac
}


lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
# A zombie (exited, not yet reaped by its parent: this shell for pmtr, init
# for an orphaned job) still answers kill -0, so read its state too.
alive() {
    kill -0 "$1" 2>/dev/null || return 1
    state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
    [ "${state%% *}" != Z ]
}
gone() { ! alive "$1"; }
# pids_or_exit N: the job wrote N PIDs, or pmtr is gone (no use waiting).
pids_or_exit() { [ "$(lines "$work/pids")" -ge "$1" ] || gone "$pmtr_pid"; }

# 1. --version, -h
log=$work/version.log
status=0
"$@" "$bin" --version >"$work/version.log" 2>&1 || status=$?
[ "$status" = 0 ] || fail "pmtr --version: $(describe "$status")"
grep -q '^pmtr [0-9]' "$work/version.log" || fail "pmtr --version printed no 'pmtr VERSION'"
pass "--version: $(head -n 1 "$work/version.log")"

log=$work/help.log
status=0
"$@" "$bin" -h >"$work/help.log" 2>&1 || status=$?
[ "$status" = 0 ] || fail "pmtr -h: $(describe "$status")"
grep -q '^usage: pmtr' "$work/help.log" || fail "pmtr -h printed no usage"
pass "-h"

# 2. -t on the example and on a broken file
log=$work/check.log
status=0
"$@" "$bin" -t -c "$top/examples/pmtr.conf" >"$work/check.log" 2>&1 || status=$?
[ "$status" = 0 ] || fail "pmtr -t -c examples/pmtr.conf: $(describe "$status") (expected 0)"
pass "-t examples/pmtr.conf"

cat >"$work/broken.conf" <<'EOF'
job {
  name broken
  cmdd /bin/true
}
EOF
log=$work/broken.log
status=0
"$@" "$bin" -t -c "$work/broken.conf" >"$work/broken.log" 2>&1 || status=$?
if [ "$status" = 0 ] || [ "$status" -gt 128 ]; then
    fail "pmtr -t on a broken file: $(describe "$status") (expected a non-zero exit status)"
fi
grep -q "broken.conf:[0-9]*:[0-9]*:" "$work/broken.log" || fail "pmtr -t on a broken file named no FILE:LINE:COL"
pass "-t broken file: $(describe "$status"), $(grep -m 1 "broken.conf:" "$work/broken.log" | sed "s|$work/||")"

# 3. foreground run: start, restart, stop
# $$ reaches sh as is: pmtr does no shell processing of cmd.
cat >"$work/pmtr.conf" <<EOF
job {
  name smoke
  cmd /bin/sh -c "echo \$\$ >> $work/pids; exec sleep 600"
}
EOF
log=$work/pmtr.log
"$@" "$bin" -F -c "$work/pmtr.conf" >"$work/pmtr.log" 2>&1 &
pmtr_pid=$!

wait_for 60 pids_or_exit 1 || fail "job did not start within 60 s"
alive "$pmtr_pid" || fail "pmtr exited right after starting"
first=$(sed -n 1p "$work/pids")
alive "$first" || fail "job [$first] is not running"
pass "-F: job started [$first]"

kill -KILL "$first"
# It ran less than 10 s: restarted 10 s after it exited (anti-spin).
wait_for 60 pids_or_exit 2 || fail "killed job was not restarted within 60 s"
alive "$pmtr_pid" || fail "pmtr exited after its job was killed"
second=$(sed -n 2p "$work/pids")
[ "$second" != "$first" ] || fail "restarted job has the same PID $first"
alive "$second" || fail "restarted job [$second] is not running"
pass "-F: killed job restarted [$second]"

kill -TERM "$pmtr_pid"
wait_for 60 gone "$pmtr_pid" || fail "pmtr still running 60 s after SIGTERM"
status=0
wait "$pmtr_pid" || status=$?
pmtr_pid=""
[ "$status" = 0 ] || fail "pmtr after SIGTERM: $(describe "$status") (expected exit status 0)"
# pmtr stops and reaps its job before exiting, so a job still there now
# was left running.
gone "$second" || fail "job [$second] still running after pmtr exited"
pass "-F: SIGTERM stopped the job, pmtr exited 0"
