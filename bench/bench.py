#!/usr/bin/env python3
"""pmtr measured side by side with runit, s6, daemontools and supervisord.

    python3 bench/bench.py            # full run: every figure, 3 repeats
    python3 bench/bench.py --quick    # under a minute: pmtr and runit if present
    python3 bench/bench.py --soak     # full run plus the 100,000-restart soak
    python3 bench/bench.py --peer pmtr-c=PATH   # with the original C pmtr
    python3 bench/bench.py --only respawn-contention   # beside 2 busy loops
    python3 bench/bench.py --only arm --merge   # bytes and PSS on an ARM kernel

Every supervisor runs the same job: bench/job.rs, a small static program
that reports "NAME PID" into a FIFO when it starts and then sleeps. The
report is what "running" means in every figure, so no figure depends on
polling /proc. Each supervisor runs in its own temp dir with its own FIFO,
and every process it starts carries a token in its environment, so cleanup
(also on Ctrl-C or errors) kills exactly the processes this run started,
by PID. The harness makes itself a child subreaper so orphans of a stopped
supervisor are reaped here, not left as zombies.

Helpers it builds: the job (bench/job.rs, with rustc, into bench/out/),
the minimal supervisor the respawn rows are read against (bench/minimal.rs,
likewise) and, for the allocation count, pmtr with the alloc-count feature
(into target/alloc-count/), whose heap counts the blocks it hands out. It
never fetches or builds the original C pmtr: --peer names a binary the
user built. The ARM figure runs bench/arm-vm.sh, which downloads Debian's
armhf kernel and busybox with apt-get on its first run.

Prints a markdown table (median with min-max over repeats, ratio of each
peer to pmtr beside it) and writes bench/results.json. Python stdlib only.

Exit status: 0 when the harness worked (even if pmtr misses a target),
1 when a figure could be measured for no supervisor at all (the harness or
every target broke), 2 on an error in the harness itself.
"""

import argparse
import collections
import ctypes
import fcntl
import hashlib
import json
import os
import platform
import re
import resource
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
OUT = os.path.join(BENCH, "out")

# The anti-spin window (SPEC §4): a job that ran less than this is restarted
# only after a delay, so respawn samples use jobs older than this.
ANTI_SPIN_S = 10.0

# Names the job program runs under: "run" via the service-dir symlink,
# "job" when exec'd by path, "sleep" in the soak. Never a supervisor.
JOB_COMMS = {"run", "job", "sleep"}

TOKEN = "%d-%s" % (os.getpid(), os.urandom(6).hex())

# What --only can pick (respawn_contention may be written respawn-contention).
# arm and soak run only when asked for (--arm, --soak, or --only).
FIGURES = ("size", "start", "after", "respawn", "respawn_contention", "reload", "idle", "allocs",
           "soak", "arm")


def figure_list():
    return ",".join(f.replace("_", "-") for f in FIGURES)


class TargetFailed(Exception):
    """A supervisor did not do what the figure needs (timeout, crash)."""


class Interrupted(Exception):
    """SIGTERM/SIGHUP to the harness: clean up and leave."""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def now():
    return time.monotonic()


# --- processes ---------------------------------------------------------------

_popen = {}  # pid -> Popen for every process this harness spawned itself


def spawn(argv, **kw):
    p = subprocess.Popen(argv, **kw)
    _popen[p.pid] = p
    return p


def finish(p, timeout=None):
    try:
        rc = p.wait(timeout)
    finally:
        if p.returncode is not None:
            _popen.pop(p.pid, None)
    return rc


def become_subreaper():
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def raise_fd_limit():
    """Soft RLIMIT_NOFILE up to the hard limit (at most 65536), inherited
    by every supervisor alike: the C pmtr's pmtr-log holds two sockets per
    job and ends the whole supervisor on EMFILE, so with a soft limit of
    1024 it cannot run 1000 jobs."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    if soft != resource.RLIM_INFINITY and soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        except (ValueError, OSError):
            pass


def reap():
    """Reaps orphans reparented to the harness (never a Popen's own child)."""
    try:
        with open("/proc/self/task/%d/children" % os.getpid()) as f:
            kids = [int(k) for k in f.read().split()]
    except OSError:
        return
    for k in kids:
        if k in _popen:
            continue
        try:
            os.waitpid(k, os.WNOHANG)
        except ChildProcessError:
            pass


def read_stat(pid):
    """(comm, state, ppid, utime+stime ticks) or None once the pid is gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            s = f.read().decode(errors="replace")
    except OSError:
        return None
    lp, rp = s.index("("), s.rindex(")")
    rest = s[rp + 2:].split()
    return s[lp + 1:rp], rest[0], int(rest[1]), int(rest[11]) + int(rest[12])


def proc_table():
    table = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = read_stat(int(d))
            if st:
                table[int(d)] = st
    return table


def tree(root, table=None):
    """root and all its live descendants (zombies left out)."""
    table = table if table is not None else proc_table()
    kids = collections.defaultdict(list)
    for pid, (_, _, ppid, _) in table.items():
        kids[ppid].append(pid)
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        if p in table and table[p][1] != "Z":
            out.append(p)
        todo.extend(kids.get(p, ()))
    return out


def alive(pid):
    st = read_stat(pid)
    return st is not None and st[1] != "Z"


def smaps_kb(pid, key):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def status_kb(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def token_pids(token):
    """Live processes whose environment carries `token` (ours, by design)."""
    needle = ("BENCH_TOKEN=" + token).encode()
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open("/proc/%s/environ" % d, "rb") as f:
                env = f.read()
        except OSError:
            continue
        if needle in env and alive(int(d)):
            found.append(int(d))
    return found


def kill_token(token, deadline_s=10.0):
    """SIGKILLs every process carrying `token`, until none is left."""
    end = now() + deadline_s
    while now() < end:
        pids = token_pids(token)
        if not pids:
            return True
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.02)
        reap()
    return not token_pids(token)


def wait_exits(pids, timeout):
    """Blocks until every pid in `pids` has exited; returns the time the
    last one did, or raises TargetFailed naming what is still there."""
    fds = {}
    for p in pids:
        try:
            fds[os.pidfd_open(p)] = p
        except (ProcessLookupError, OSError):
            pass
    try:
        poller = select.poll()
        for fd in fds:
            poller.register(fd, select.POLLIN)
        left = set(fds)
        end = now() + timeout
        t_last = now()
        while left:
            rem = end - now()
            if rem <= 0:
                names = sorted({(read_stat(fds[fd]) or ("?",))[0] for fd in left})
                raise TargetFailed("%d processes still running after %.0f s (%s)"
                                   % (len(left), timeout, ", ".join(names)))
            for fd, _ in poller.poll(rem * 1000):
                t_last = now()
                left.discard(fd)
                poller.unregister(fd)
        return t_last
    finally:
        for fd in fds:
            os.close(fd)


# --- the job and its reports -------------------------------------------------

def build_job(name="job"):
    """Compiles bench/NAME.rs (the job, or the minimal supervisor) with
    rustc into bench/out/NAME (static if the musl target or a static glibc
    is available)."""
    os.makedirs(OUT, exist_ok=True)
    src, dst = os.path.join(BENCH, name + ".rs"), os.path.join(OUT, name)
    if os.path.exists(dst) and os.path.getmtime(dst) >= os.path.getmtime(src):
        return dst
    base = ["rustc", "--edition", "2021", "-C", "opt-level=s", "-C", "panic=abort",
            "-C", "strip=symbols", src, "-o", dst]
    sysroot = subprocess.run(["rustc", "--print", "sysroot"], capture_output=True,
                             text=True).stdout.strip()
    attempts = []
    if os.path.isdir(os.path.join(sysroot, "lib/rustlib/x86_64-unknown-linux-musl")) \
            and platform.machine() == "x86_64":
        attempts.append(base + ["--target", "x86_64-unknown-linux-musl"])
    attempts += [base + ["-C", "target-feature=+crt-static"], base]
    err = ""
    for argv in attempts:
        r = subprocess.run(argv, capture_output=True, text=True)
        if r.returncode == 0:
            return dst
        err = r.stderr
    raise RuntimeError("rustc could not build bench/%s.rs:\n%s" % (name, err))


class Reports:
    """The FIFO every job of one supervisor instance reports into."""

    def __init__(self, path):
        os.mkfifo(path)
        # O_RDWR keeps a writer open, so the FIFO never reads EOF between jobs.
        self.fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        try:
            fcntl.fcntl(self.fd, 1031, 1 << 20)  # F_SETPIPE_SZ: no job blocks
        except OSError:
            pass
        self.poller = select.poll()
        self.poller.register(self.fd, select.POLLIN)
        self.buf = b""
        self.pid = {}  # name -> latest pid
        self.starts = collections.Counter()  # name -> reports seen
        self.last_t = 0.0

    def pump(self, timeout_s):
        """Waits up to timeout_s for reports; returns [(name, pid, t)]."""
        if not self.poller.poll(max(0, timeout_s) * 1000):
            return []
        t = now()
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            self.buf += chunk
        got = []
        *lines, self.buf = self.buf.split(b"\n")
        for line in lines:
            name, pid = line.decode().rsplit(" ", 1)
            self.pid[name] = int(pid)
            self.starts[name] += 1
            got.append((name, int(pid), t))
        if got:
            self.last_t = t
        return got

    def close(self):
        os.close(self.fd)


# --- supervisors -------------------------------------------------------------

class Supervisor:
    name = ""
    exes = ()  # what a device must carry to run it
    packages = ()  # Debian packages that provide it

    def available(self):
        return all(shutil.which(e) for e in self.exes)

    def version(self):
        out = []
        for pkg in self.packages:
            r = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg],
                               capture_output=True, text=True)
            out.append(r.stdout.strip() or "?")
        return " ".join(out)

    def env(self, inst):
        return {}

    def prepare(self, inst, cmd):
        raise NotImplementedError

    def argv(self, inst):
        raise NotImplementedError

    def stop(self, inst):
        os.kill(inst.proc.pid, signal.SIGTERM)

    def sizes(self):
        return size_of_files([shutil.which(e) for e in self.exes])

    def edit_ready(self, inst):
        """Whether an edit of the config now would be seen (reload figure)."""
        return True

    def untraceable(self, inst, pids):
        """Those of `pids` that must not be traced in the idle figure."""
        return set()

    def service_dirs(self, inst, sub, cmd):
        """One directory per job with ./run a symlink to the job program."""
        base = os.path.join(inst.dir, sub)
        for name in inst.jobs:
            d = os.path.join(base, name)
            os.makedirs(d)
            os.symlink(cmd[0], os.path.join(d, "run"))
        return base


class Pmtr(Supervisor):
    name = "pmtr"

    def __init__(self, binary, name="pmtr"):
        self.binary = binary
        self.name = name

    def available(self):
        return os.access(self.binary, os.X_OK)

    def version(self):
        r = subprocess.run([self.binary, "--version"], capture_output=True, text=True)
        return r.stdout.strip().split("\n")[0]

    def env(self, inst):
        # No /dev/log here: with -F the lines go to stderr (the log file).
        return {"PMTR_LOG_SOCKET": os.path.join(inst.dir, "no-syslog")}

    def prepare(self, inst, cmd):
        # A directory of its own, as /etc is quiet: pmtr watches the
        # config's directory, and the log, the FIFO and strace's output
        # written next to it would wake pmtr and be measured.
        inst.config = os.path.join(inst.dir, "etc", "pmtr.conf")
        os.makedirs(os.path.dirname(inst.config))
        with open(inst.config, "w") as f:
            f.write(pmtr_config(inst.jobs, cmd))

    def argv(self, inst):
        # A control socket of its own: at the default /run/pmtr.sock, each
        # pmtr starting on the machine (another instance of this run, or
        # someone's tests) probes the socket with a connect, which wakes the
        # measured pmtr (an accept in the idle figure), and `pmtr status`
        # run by anyone else would be answered by the benchmark.
        return [self.binary, "-F", "-c", inst.config, "-s", os.path.join(inst.dir, "pmtr.sock")]

    def sizes(self):
        files = [self.binary]
        out = size_of_files(files)
        out["path"] = os.path.relpath(self.binary, ROOT)
        opt = size_optimised_pmtr(self.binary)
        if opt:
            out["size_optimised"] = size_of_files([opt])
            out["size_optimised"]["path"] = os.path.relpath(opt, ROOT)
        return out


class PmtrC(Supervisor):
    """The original C pmtr (troydhanson/pmtr), a binary the user built and
    passed with --peer pmtr-c=PATH; the harness never fetches or builds it.
    It reads the same config syntax. It runs three processes: the
    supervisor, pmtr-log (jobs' stdout/stderr go to it over a unix socket,
    on to syslog) and pmtr-dep (an inotify watch on the config file itself,
    which signals the parent half a second after a change and exits, to be
    forked again)."""

    def __init__(self, binary, name="pmtr-c"):
        self.binary = binary
        self.name = name

    def available(self):
        return os.access(self.binary, os.X_OK)

    def version(self):
        # It has no --version; name the exact file instead.
        with open(self.binary, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        return "C pmtr, %d bytes, sha256 %s" % (os.path.getsize(self.binary), digest[:16])

    def prepare(self, inst, cmd):
        inst.config = os.path.join(inst.dir, "etc", "pmtr.conf")
        os.makedirs(os.path.dirname(inst.config))
        with open(inst.config, "w") as f:
            f.write(pmtr_config(inst.jobs, cmd))

    def argv(self, inst):
        return [self.binary, "-F", "-c", inst.config]

    def sizes(self):
        out = size_of_files([self.binary])
        out["path"] = self.binary
        return out

    def untraceable(self, inst, pids):
        # A ptrace attach makes pmtr-log's epoll_wait fail with EINTR (as
        # signal(7) says stop signals do), which it treats as fatal, and the
        # supervisor shuts down when pmtr-log exits: the idle figure counts
        # its wakeups from context switches instead of tracing it.
        return {p for p in pids if (read_stat(p) or ("",))[0] == "pmtr-log"}

    def edit_ready(self, inst):
        # Between a change and the new pmtr-dep's inotify_add_watch, an edit
        # goes unseen; the next edit waits for the watch on the file now at
        # the config's path.
        return inode_watched(inst.own_pids(), os.stat(inst.config).st_ino)


def inode_watched(pids, ino):
    """Whether one of `pids` holds an inotify watch on inode `ino`
    (/proc/PID/fdinfo of an inotify fd lists `inotify wd:N ino:HEX ...`)."""
    for pid in pids:
        try:
            fds = os.listdir("/proc/%d/fdinfo" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                    for line in f:
                        m = re.match(r"inotify wd:\S+ ino:([0-9a-f]+)", line)
                        if m and int(m.group(1), 16) == ino:
                            return True
            except OSError:
                continue
    return False


class Minimal(Supervisor):
    """bench/minimal.rs, the least a supervisor can do (waitpid(-1), then
    spawn the replacement): the reference for the respawn figures, which
    the harness's own floor is not, since it leaves out the job's death and
    its parent's wakeup. Measured in the respawn figures only."""
    name = "minimal"

    def __init__(self, binary):
        self.binary = binary

    def available(self):
        return os.access(self.binary, os.X_OK)

    def version(self):
        return "bench/minimal.rs"

    def prepare(self, inst, cmd):
        inst.cmd = cmd

    def argv(self, inst):
        return [self.binary] + inst.cmd + inst.jobs

    def stop(self, inst):
        # It has no shutdown of its own: SIGTERM to the process group the
        # harness made for it (start_new_session), which its jobs share.
        os.killpg(inst.proc.pid, signal.SIGTERM)

    def sizes(self):
        return {}


# Not peers: programs measured beside them as a yardstick.
REFERENCES = ("minimal",)


# --peer NAME=PATH: the peers the harness runs from a path the user gives.
# pmtr-c is measured beside the others on this machine; pmtr-c-armv7 and
# pmtr-c-armv6 only in the ARM VM (--only arm).
PATH_PEERS = {"pmtr-c": PmtrC}
ARM_PATH_PEERS = ("pmtr-c-armv7", "pmtr-c-armv6")


def parse_path_peers(ap, specs):
    """--peer NAME=PATH arguments: ([Supervisor] for this machine,
    {name: path} for the ARM VM)."""
    here, arm = [], {}
    host = {"x86_64": 62, "aarch64": 183}.get(platform.machine())
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not path:
            ap.error("--peer %s: expected NAME=PATH" % spec)
        path = os.path.abspath(path)
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            ap.error("--peer %s: %s is not an executable file" % (name, path))
        if name in PATH_PEERS:
            if host is not None and elf_machine(path) != host:
                ap.error("--peer %s: %s is not a program for this machine (%s); ARM builds "
                         "go in as pmtr-c-armv7=PATH or pmtr-c-armv6=PATH"
                         % (name, path, platform.machine()))
            here.append(PATH_PEERS[name](path))
        elif name in ARM_PATH_PEERS:
            if elf_machine(path) != 40:  # EM_ARM
                ap.error("--peer %s: %s is not a 32-bit ARM program" % (name, path))
            arm[name] = path
        else:
            ap.error("--peer %s: unknown (known: %s)"
                     % (name, ", ".join(list(PATH_PEERS) + list(ARM_PATH_PEERS))))
    return here, arm


def pmtr_config(names, cmd):
    return "".join("job {\n  name %s\n  cmd %s\n}\n" % (n, " ".join(cmd + ([n] if cmd[0].endswith("/job") else [])))
                   for n in names)


class Runit(Supervisor):
    name = "runit"
    exes = ("runsvdir", "runsv")
    packages = ("runit",)

    def prepare(self, inst, cmd):
        inst.svdir = self.service_dirs(inst, "service", cmd)

    def argv(self, inst):
        return [shutil.which("runsvdir"), inst.svdir]

    def stop(self, inst):
        # runsvdir exits on TERM without stopping anything; HUP makes it
        # send TERM to every runsv, which stops its service and exits.
        os.kill(inst.proc.pid, signal.SIGHUP)


class S6(Supervisor):
    name = "s6"
    exes = ("s6-svscan", "s6-supervise")
    packages = ("s6",)

    def prepare(self, inst, cmd):
        inst.svdir = self.service_dirs(inst, "scan", cmd)

    def argv(self, inst):
        # -c: s6-svscan refuses more than 1000 services (loggers included)
        # unless told how many to expect.
        return [shutil.which("s6-svscan"), "-c", str(max(1000, 2 * len(inst.jobs) + 16)), inst.svdir]


class Daemontools(Supervisor):
    name = "daemontools"
    exes = ("svscan", "supervise")
    packages = ("daemontools",)

    def prepare(self, inst, cmd):
        inst.svdir = self.service_dirs(inst, "service", cmd)

    def argv(self, inst):
        return [shutil.which("svscan"), inst.svdir]

    def stop(self, inst):
        # svscan just dies on TERM; stopping services is `svc -dx` on each,
        # which is two bytes written to each supervise/control FIFO.
        os.kill(inst.proc.pid, signal.SIGTERM)
        for name in inst.jobs:
            try:
                fd = os.open(os.path.join(inst.svdir, name, "supervise", "control"),
                             os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                continue
            try:
                os.write(fd, b"dx")
            finally:
                os.close(fd)


class Supervisord(Supervisor):
    name = "supervisord"
    exes = ("supervisord",)
    packages = ("supervisor",)

    def prepare(self, inst, cmd):
        inst.config = os.path.join(inst.dir, "etc", "supervisord.conf")
        os.makedirs(os.path.dirname(inst.config))
        n = len(inst.jobs)
        with open(inst.config, "w") as f:
            f.write("[supervisord]\nnodaemon=true\nuser=root\nlogfile=%s\npidfile=%s\n"
                    "childlogdir=%s\nminfds=%d\nminprocs=%d\n\n"
                    % (os.path.join(inst.dir, "supervisord.log"),
                       os.path.join(inst.dir, "supervisord.pid"), inst.dir,
                       max(1024, 4 * n + 64), max(200, n + 64)))
            for name in inst.jobs:
                args = cmd + ([name] if cmd[0].endswith("/job") else [])
                f.write("[program:%s]\ncommand=%s\nautorestart=true\n"
                        "stdout_logfile=NONE\nstderr_logfile=NONE\n\n" % (name, " ".join(args)))

    def argv(self, inst):
        return [shutil.which("supervisord"), "-n", "-c", inst.config]

    def sizes(self):
        # A Python program: what a device carries is its package plus an
        # interpreter (the standard library is not counted).
        r = subprocess.run(["dpkg", "-L", "supervisor"], capture_output=True, text=True)
        files = [f for f in r.stdout.split("\n")
                 if "-packages/supervisor/" in f and f.endswith(".py") and "/tests/" not in f
                 and os.path.isfile(f)]
        out = size_of_files(files + [shutil.which("supervisord")])
        # The interpreter its script names, not whichever python3 is first
        # on PATH.
        with open(shutil.which("supervisord"), "rb") as f:
            shebang = f.readline().decode(errors="replace")
        py = shebang[2:].split()[0] if shebang.startswith("#!") else "/usr/bin/python3"
        py = os.path.realpath(shutil.which(py) or py)
        out["runtime_bytes"] = os.path.getsize(py) + sum(
            os.path.getsize(lib) for lib in extra_libs([py]))
        out["runtime_note"] = "python3 interpreter and its non-libc libraries; stdlib not counted"
        return out


def extra_libs(files):
    """Shared libraries the files need beyond libc and the loader."""
    libs = set()
    for f in files:
        r = subprocess.run(["ldd", f], capture_output=True, text=True)
        for line in r.stdout.split("\n"):
            m = re.search(r"=>\s+(\S+)", line)
            if m and os.path.isfile(m.group(1)):
                base = os.path.basename(m.group(1))
                if not (base.startswith("libc.so") or base.startswith("ld-linux")):
                    libs.add(os.path.realpath(m.group(1)))
    return sorted(libs)


def stripped_size(path):
    if shutil.which("strip"):
        tmp = os.path.join(OUT, "strip.tmp")
        r = subprocess.run(["strip", "-o", tmp, path], capture_output=True)
        if r.returncode == 0:
            size = os.path.getsize(tmp)
            os.unlink(tmp)
            return size
    return os.path.getsize(path)


def size_of_files(files):
    exe = sum(stripped_size(f) for f in files)
    libs = [lib for lib in extra_libs(files)]
    return {"files": [os.path.basename(f) for f in files], "bytes": exe,
            "libs": [os.path.basename(lib) for lib in libs],
            "lib_bytes": sum(os.path.getsize(lib) for lib in libs)}


def elf_machine(path):
    try:
        with open(path, "rb") as f:
            head = f.read(20)
    except OSError:
        return None
    if head[:4] != b"\x7fELF":
        return None
    return int.from_bytes(head[18:20], "little")


def size_optimised_pmtr(release):
    """The size-optimised static pmtr the cross scripts build for this
    machine's architecture (`make sizes`, `make cross-check`): target/dist/
    holds the copy they publish, target/min/ cargo's own output."""
    arch = platform.machine()
    short = {"x86_64": "x86_64", "aarch64": "aarch64"}.get(arch)
    triple = "%s-unknown-linux-musl" % arch
    candidates = [os.path.join(ROOT, "target", "min", triple, "release", "pmtr")]
    if short:
        candidates.insert(0, os.path.join(ROOT, "target", "dist", "pmtr-%s-min" % short))
    machine = {"x86_64": 62, "aarch64": 183}.get(arch)
    for p in candidates:
        if os.path.isfile(p) and os.path.realpath(p) != os.path.realpath(release) \
                and elf_machine(p) == machine:
            return p
    return None


# --- one running supervisor --------------------------------------------------

class Instance:
    """One supervisor with its jobs in a temp dir of its own."""

    count = 0

    def __init__(self, sup, base, jobs, cmd):
        Instance.count += 1
        self.sup, self.jobs = sup, list(jobs)
        self.dir = tempfile.mkdtemp(prefix="%s-" % sup.name, dir=base)
        self.token = "%s-%d" % (TOKEN, Instance.count)
        self.reports = Reports(os.path.join(self.dir, "reports"))
        self.log = os.path.join(self.dir, "supervisor.log")
        self.proc = None
        sup.prepare(self, cmd)

    def start(self):
        env = dict(os.environ)
        # The same short PATH for every supervisor: runsvdir and svscan
        # look up runsv and supervise in it at every start.
        env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        env.update(self.sup.env(self))
        env["BENCH_FIFO"] = os.path.join(self.dir, "reports")
        env["BENCH_TOKEN"] = self.token
        with open(self.log, "ab") as logf:
            t0 = now()
            self.proc = spawn(self.sup.argv(self), cwd=self.dir, env=env,
                              stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                              start_new_session=True)
        return t0

    def log_tail(self, n=5):
        try:
            with open(self.log, errors="replace") as f:
                return " | ".join(f.read().strip().split("\n")[-n:])
        except OSError:
            return ""

    def check_alive(self):
        if self.proc is not None and self.proc.poll() is not None:
            _popen.pop(self.proc.pid, None)
            raise TargetFailed("%s exited with status %s: %s"
                               % (self.sup.name, self.proc.returncode, self.log_tail()))

    def wait_until(self, cond, timeout, what):
        end = now() + timeout
        while not cond():
            self.check_alive()
            rem = end - now()
            if rem <= 0:
                raise TargetFailed("%s: timed out after %.0f s waiting for %s; log: %s"
                                   % (self.sup.name, timeout, what, self.log_tail()))
            self.reports.pump(min(rem, 0.1))

    def wait_all_running(self, timeout):
        """Time of the report that completed the set of jobs."""
        want = set(self.jobs)
        self.wait_until(lambda: want <= self.reports.pid.keys(), timeout,
                        "all %d jobs to start (%d did)" % (len(want), len(self.reports.pid)))
        return self.reports.last_t

    def own_pids(self):
        table = proc_table()
        return [p for p in tree(self.proc.pid, table) if table[p][0] not in JOB_COMMS]

    def all_pids(self):
        return tree(self.proc.pid) + [p for p in self.reports.pid.values() if alive(p)]

    def stop_timed(self, timeout=60.0):
        """Stops the supervisor the way its users do; returns seconds until
        the supervisor and every job are gone."""
        pids = set(self.all_pids())
        t0 = now()
        self.sup.stop(self)
        t1 = wait_exits(pids, timeout)
        # Anything started during the shutdown must be gone too.
        late = token_pids(self.token)
        if late:
            t1 = wait_exits(late, 5.0)
        return t1 - t0

    def close(self):
        """Stops everything this instance started, gracefully if it can."""
        try:
            if self.proc is not None and self.proc.poll() is None:
                try:
                    self.sup.stop(self)
                    wait_exits(self.all_pids(), 15.0)
                except (TargetFailed, OSError):
                    pass
        finally:
            kill_token(self.token)
            if self.proc is not None:
                try:
                    finish(self.proc, 5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    finish(self.proc)
            reap()
            self.reports.close()


# --- statistics and records --------------------------------------------------

def summary(samples, unit):
    s = sorted(samples)
    if not s:
        return {"unit": unit, "n": 0, "error": "no samples"}
    out = {"unit": unit, "n": len(s), "median": statistics.median(s), "min": s[0], "max": s[-1],
           "samples": s if len(s) <= 50 else None}
    if len(s) >= 20:
        out["p99"] = s[max(0, -(-99 * len(s) // 100) - 1)]
    if out["samples"] is None:
        del out["samples"]
    return out


class Results:
    def __init__(self):
        self.fig = collections.defaultdict(dict)
        self.failures = []
        self.load = {}  # figure -> 1-minute load average when it began
        self.when = {}  # figure -> when it began

    def begin(self, what):
        self.load[what] = round(os.getloadavg()[0], 2)
        self.when[what] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())

    def put(self, key, sup, value):
        self.fig[key][sup] = value

    def fail(self, key, sup, err):
        log("  %s / %s: FAILED: %s" % (key, sup, err))
        self.failures.append({"figure": key, "supervisor": sup, "error": str(err)})
        self.fig[key].setdefault(sup, {"error": str(err)})


def measure(results, key, sup_name, fn):
    """Runs one measurement; a misbehaving supervisor is recorded, not fatal."""
    try:
        fn()
    except TargetFailed as e:
        results.fail(key, sup_name, e)


# --- figures -----------------------------------------------------------------

def job_names(n, prefix="j"):
    return ["%s%04d" % (prefix, i) for i in range(n)]


def fig_sizes(sups, results):
    log("binary size")
    for sup in sups:
        results.put("size", sup.name, sup.sizes())


def fig_start_memory_shutdown(sups, results, base, job, ns, reps, settle_s):
    """For each N: start-all time, PSS/RSS of the supervisor's own
    processes once settled, and shutdown time."""
    samples = collections.defaultdict(lambda: collections.defaultdict(list))
    for n in ns:
        for rep in range(reps):
            for sup in sups:
                log("start/memory/shutdown: %s, %d jobs, run %d/%d" % (sup.name, n, rep + 1, reps))
                inst = Instance(sup, base, job_names(n), [job])
                try:
                    t0 = inst.start()
                    t_all = inst.wait_all_running(30 + 0.1 * n)
                    samples[("start", n)][sup.name].append((t_all - t0) * 1000)
                    time.sleep(settle_s)
                    inst.check_alive()
                    own = inst.own_pids()
                    samples[("pss", n)][sup.name].append(sum(smaps_kb(p, "Pss") for p in own))
                    samples[("rss", n)][sup.name].append(sum(smaps_kb(p, "Rss") for p in own))
                    samples[("procs", n)][sup.name].append(len(own))
                except TargetFailed as e:
                    results.fail("start_%d" % n, sup.name, e)
                    inst.close()
                    continue
                try:
                    took = inst.stop_timed(20.0)
                    samples[("shutdown", n)][sup.name].append(took * 1000)
                except TargetFailed as e:
                    results.fail("shutdown_%d" % n, sup.name, e)
                finally:
                    inst.close()
    units = {"start": "ms", "pss": "KB", "rss": "KB", "procs": "", "shutdown": "ms"}
    for (kind, n), per_sup in samples.items():
        for name, vals in per_sup.items():
            results.put("%s_%d" % (kind, n), name, summary(vals, units[kind]))


# Respawn under CPU contention: this many processes spinning in user space
# beside the supervisor (as many as this kind of machine has cores), so the
# supervisor, the dying job and its replacement have to win the CPU back.
BUSY_LOOPS = 2


class BusyLoops:
    """`n` busy loops the harness starts and kills by PID (they carry the
    run's token too, so cleanup after an error finds them)."""

    def __init__(self, n):
        env = dict(os.environ, BENCH_TOKEN=TOKEN + "-busy")
        self.procs = [spawn([sys.executable, "-c", "while True: pass"], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
                      for _ in range(n)]
        # Until each has run for a tick, so the first samples see the load.
        end = now() + 5.0
        while now() < end and any((read_stat(p.pid) or (0, 0, 0, 0))[3] < 1 for p in self.procs):
            time.sleep(0.02)

    def stop(self):
        for p in self.procs:
            try:
                os.kill(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            finish(p)
        self.procs = []


# The respawn figures: (figure key, busy loops beside the supervisor).
RESPAWN_PHASES = {"respawn": 0, "respawn_contention": BUSY_LOOPS}


def fig_respawn(sups, results, base, job, njobs, grouped, phases):
    """SIGKILL of a job older than the anti-spin window until its
    replacement reports; one sample per job, so no job waits twice. Each
    phase (quiet, then with busy loops) kills its own `njobs` jobs of the
    same instance, so the contention run needs no second anti-spin wait."""
    groups = [sups] if grouped else [[s] for s in sups]
    for group in groups:
        insts = []
        try:
            for sup in group:
                log("respawn: %s, starting %d jobs" % (sup.name, njobs * len(phases)))
                inst = Instance(sup, base, job_names(njobs * len(phases), "r"), [job])
                insts.append(inst)
                inst.start()
            ready = []
            for inst in insts:
                try:
                    inst.wait_all_running(30 + 0.1 * njobs * len(phases))
                    ready.append(inst)
                except TargetFailed as e:
                    for key in phases:
                        results.fail(key, inst.sup.name, e)
            if not ready:
                continue
            wait = max(i.reports.last_t for i in ready) + ANTI_SPIN_S + 1 - now()
            log("respawn: waiting %.0f s so every job is past the anti-spin window" % max(0, wait))
            time.sleep(max(0, wait))
            for k, key in enumerate(phases):
                loops = BusyLoops(RESPAWN_PHASES[key]) if RESPAWN_PHASES[key] else None
                try:
                    for inst in ready:
                        names = inst.jobs[k * njobs:(k + 1) * njobs]
                        log("respawn: %s, %d kills%s" % (inst.sup.name, njobs,
                            ", %d busy loops beside it" % RESPAWN_PHASES[key] if loops else ""))
                        measure(results, key, inst.sup.name,
                                lambda: respawn_samples(inst, results, key, names))
                finally:
                    if loops:
                        loops.stop()
        finally:
            for inst in insts:
                inst.close()


def respawn_floor(results, base, job, n, key="respawn"):
    """The same event with no supervisor: the harness itself spawns the job
    (posix_spawn) and waits for its report, with the same busy loops as the
    figure `key`. No supervisor can beat this on this machine; it puts the
    respawn figures in proportion."""
    d = tempfile.mkdtemp(prefix="floor-", dir=base)
    reports = Reports(os.path.join(d, "reports"))
    env = dict(os.environ, BENCH_FIFO=os.path.join(d, "reports"), BENCH_TOKEN=TOKEN + "-floor")
    lat = []
    loops = BusyLoops(RESPAWN_PHASES[key]) if RESPAWN_PHASES[key] else None
    try:
        for i in range(n):
            name = "f%04d" % i
            t0 = now()
            pid = os.posix_spawn(job, [job, name], env)
            try:
                end = t0 + 5.0
                while name not in reports.pid and now() < end:
                    reports.pump(end - now())
                if name in reports.pid:
                    lat.append((reports.last_t - t0) * 1000)
            finally:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            time.sleep(0.01)
    finally:
        if loops:
            loops.stop()
        reports.close()
    if lat:
        results.put(key.replace("respawn", "respawn_floor", 1), "harness", summary(lat, "ms"))


def respawn_samples(inst, results, key, names):
    lat = []
    for name in names:
        # A supervisor that waits a second before every restart (s6's
        # pause after ./finish, supervisord's 1 s loop) has shown it after
        # 60 samples; 250 of them would take minutes and say nothing more.
        if len(lat) >= 60 and statistics.median(lat) > 200:
            break
        inst.check_alive()
        old = inst.reports.pid[name]
        t0 = now()
        os.kill(old, signal.SIGKILL)
        inst.wait_until(lambda: inst.reports.pid[name] != old, 5.0, "%s to come back" % name)
        lat.append((inst.reports.last_t - t0) * 1000)
        time.sleep(0.01)  # let the supervisor finish its bookkeeping
    results.put(key, inst.sup.name, summary(lat, "ms"))


class PmtrAfterTree(Pmtr):
    """pmtr with every job but the first `after` another, a binary tree:
    job i starts after job (i - 1) // 2 (issue 16). The jobs are the same
    program; only the order they may start in differs."""

    def prepare(self, inst, cmd):
        super().prepare(inst, cmd)
        names = inst.jobs
        with open(inst.config, "w") as f:
            for i, n in enumerate(names):
                argv = " ".join(cmd + ([n] if cmd[0].endswith("/job") else []))
                after = "  after %s\n" % names[(i - 1) // 2] if i else ""
                f.write("job {\n  name %s\n  cmd %s\n%s}\n" % (n, argv, after))


def fig_start_after_tree(pmtr, results, base, job, n, reps):
    """pmtr only: start-all of n jobs in an `after` tree, beside the same n
    jobs without `after`, run after run (issue 16: a dependency tree starts
    as fast as unrelated jobs). The figure is the tree's; the flat runs'
    summary is kept with it as "flat"."""
    tree = PmtrAfterTree(pmtr.binary, "pmtr-after")
    samples = {"flat": [], "tree": []}
    for rep in range(reps):
        for kind, sup in (("flat", pmtr), ("tree", tree)):
            log("start with after: %s, %d jobs, run %d/%d" % (kind, n, rep + 1, reps))
            inst = Instance(sup, base, job_names(n), [job])
            try:
                t0 = inst.start()
                samples[kind].append((inst.wait_all_running(30 + 0.1 * n) - t0) * 1000)
            except TargetFailed as e:
                results.fail("start_after_%d" % n, "pmtr", e)
            finally:
                inst.close()
    fig = summary(samples["tree"], "ms")
    fig["flat"] = summary(samples["flat"], "ms")
    results.put("start_after_%d" % n, "pmtr", fig)


def fig_reload(sup, results, base, job, edits):
    """pmtr and the C pmtr (the peers have no equivalent): an edit that
    swaps one job for another, from the save to the new job running and the
    old one gone (reaped), by rename and by writing in place. Ten untouched
    jobs must not be restarted. Each edit waits (untimed) until the
    supervisor can see it (Supervisor.edit_ready)."""
    log("reload: %s, %d edits each way" % (sup.name, edits))
    stable = job_names(10, "b")
    inst = Instance(sup, base, stable + ["x0000"], [job])
    try:
        inst.start()
        inst.wait_all_running(30)
        k = 0
        for mode in ("rename", "inplace"):
            lat = []
            try:
                for _ in range(edits):
                    old_name, new_name = "x%04d" % k, "x%04d" % (k + 1)
                    k += 1
                    old_pid = inst.reports.pid[old_name]
                    inst.wait_until(lambda: sup.edit_ready(inst), 5.0,
                                    "%s to watch the config again" % sup.name)
                    text = pmtr_config(stable + [new_name], [job])
                    if mode == "rename":
                        tmp = inst.config + ".new"
                        with open(tmp, "w") as f:
                            f.write(text)
                        t0 = now()
                        os.rename(tmp, inst.config)
                    else:
                        t0 = now()
                        with open(inst.config, "w") as f:
                            f.write(text)
                    inst.wait_until(lambda: new_name in inst.reports.pid, 5.0,
                                    "job %s after the %s edit" % (new_name, mode))
                    t_new = inst.reports.last_t
                    t_gone = wait_reaped(inst, old_pid, 5.0)
                    lat.append((max(t_new, t_gone) - t0) * 1000)
                    time.sleep(0.02)
                results.put("reload_" + mode, sup.name, summary(lat, "ms"))
            except TargetFailed as e:
                results.fail("reload_" + mode, sup.name, e)
                break
        disturbed = sum(inst.reports.starts[n] - 1 for n in stable)
        results.put("reload_disturbed", sup.name, {"unit": "restarts", "median": disturbed,
                                                   "min": disturbed, "max": disturbed, "n": 1})
    except TargetFailed as e:
        results.fail("reload_rename", sup.name, e)
    finally:
        inst.close()


def wait_reaped(inst, pid, timeout):
    """Time at which `pid` no longer exists (exited and reaped)."""
    try:
        wait_exits([pid], timeout)
    except TargetFailed:
        raise TargetFailed("removed job [%d] still running after %.0f s" % (pid, timeout))
    end = now() + timeout
    while os.path.exists("/proc/%d" % pid):
        if now() > end:
            raise TargetFailed("removed job [%d] exited but was not reaped" % pid)
        time.sleep(0.0002)
    return now()


WAIT_CALLS = {"epoll_wait", "epoll_pwait", "epoll_pwait2", "poll", "ppoll", "select",
              "pselect6", "read", "wait4", "waitid", "rt_sigsuspend", "pause",
              "rt_sigtimedwait", "nanosleep", "clock_nanosleep", "sigsuspend", "accept",
              "recvfrom", "recvmsg", "restart_syscall"}


def count_syscalls(trace):
    """System calls in an `strace -f -o` file, per name. The call each
    process was blocked in when strace attached shows up as its first line
    (restarted); it began before the window, so it is not counted."""
    calls = collections.Counter()
    seen = set()
    with open(trace, errors="replace") as f:
        for line in f:
            m = re.match(r"(\d+)\s+(.*)", line)
            if not m:
                continue
            pid, rest = m.group(1), m.group(2)
            if rest.startswith("<...") or rest.startswith("+++") or rest.startswith("---"):
                continue
            name = re.match(r"([a-z0-9_]+)\(", rest)
            if not name:
                continue
            first = pid not in seen
            seen.add(pid)
            if name.group(1) == "restart_syscall" or (first and name.group(1) in WAIT_CALLS):
                continue
            calls[name.group(1)] += 1
    return calls


def voluntary_switches(pid):
    return status_kb(pid, "voluntary_ctxt_switches")


def fig_idle(sups, results, base, job, seconds):
    """System calls and CPU ticks of every supervisor's own processes over
    a window with 10 idle jobs; all supervisors idle side by side."""
    if not shutil.which("strace"):
        for sup in sups:
            results.fail("idle", sup.name, TargetFailed("unavailable: strace is not installed"))
        return
    insts, traced = [], []
    try:
        for sup in sups:
            inst = Instance(sup, base, job_names(10, "i"), [job])
            insts.append(inst)
            inst.start()
        ready = []
        for inst in insts:
            try:
                inst.wait_all_running(30)
                ready.append(inst)
            except TargetFailed as e:
                results.fail("idle", inst.sup.name, e)
        time.sleep(2.0)  # past supervisord's RUNNING transition and first rescans
        for inst in ready:
            pids = inst.own_pids()
            untraced = inst.sup.untraceable(inst, pids)
            out = os.path.join(inst.dir, "strace.out")
            argv = ["strace", "-f", "-qq", "-o", out]
            for p in pids:
                if p not in untraced:
                    argv += ["-p", str(p)]
            ticks = sum((read_stat(p) or (0, 0, 0, 0))[3] for p in pids)
            switches = {p: voluntary_switches(p) for p in untraced}
            traced.append((inst, pids, out, ticks, switches,
                           spawn(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
        log("idle: tracing %s for %d s" % (", ".join(i.sup.name for i in ready), seconds))
        time.sleep(seconds)
        for *_, st in traced:
            st.send_signal(signal.SIGINT)
        for inst, pids, out, ticks0, switches, st in traced:
            try:
                finish(st, 10)
            except subprocess.TimeoutExpired:
                st.kill()
                finish(st)
            try:
                inst.check_alive()
            except TargetFailed as e:
                results.fail("idle", inst.sup.name, TargetFailed("during the window: %s" % e))
                continue
            if st.returncode not in (0, -signal.SIGINT, 130) and not (
                    os.path.exists(out) and os.path.getsize(out)):
                results.fail("idle", inst.sup.name, TargetFailed(
                    "unavailable: strace could not attach (exit %d; ptrace not permitted?)"
                    % st.returncode))
                continue
            calls = count_syscalls(out)
            ticks = sum((read_stat(p) or (0, 0, 0, 0))[3] for p in pids) - ticks0
            # An untraced process's wakeups: each returned from at least one
            # blocking call, so they count as one call each (a lower bound).
            woke = {(read_stat(p) or ("?",))[0]: voluntary_switches(p) - n
                    for p, n in switches.items()}
            total = sum(calls.values()) + sum(woke.values())
            entry = {"unit": "calls/%ds" % seconds, "median": total, "min": total, "max": total,
                     "n": 1, "per_minute": total * 60.0 / seconds, "cpu_ticks": ticks,
                     "processes": len(pids), "top": calls.most_common(4)}
            if woke:
                entry["untraced_wakeups"] = woke
            results.put("idle", inst.sup.name, entry)
    finally:
        for *_, st in traced:
            if st.poll() is None:
                st.kill()
                finish(st)
        for inst in insts:
            inst.close()


class Allocations:
    """Heap allocations per restart cycle: pmtr built with the alloc-count
    feature (its heap counts every block it hands out and pmtr writes the
    count when it exits), for n1 and n2 restarts of otherwise identical
    runs (same jobs, same shutdown); the difference of the counts over
    n2 - n1. begin() and finish() are apart so the anti-spin wait can
    overlap with another figure's."""

    def __init__(self, results, base, job, k, n1, n2):
        self.results, self.base, self.job = results, base, job
        self.k, self.n1, self.n2 = k, n1, n2
        self.insts = []

    def begin(self):
        target_dir = os.path.join(ROOT, "target", "alloc-count")
        counting = os.path.join(target_dir, "release", "pmtr")
        r = subprocess.run(["cargo", "build", "--release", "-q", "--features", "alloc-count",
                            "--bin", "pmtr", "--target-dir", target_dir],
                           cwd=ROOT, capture_output=True, text=True)
        if r.returncode != 0 or not os.access(counting, os.X_OK):
            self.results.fail("allocs", "pmtr", TargetFailed(
                "cargo build --features alloc-count failed:\n" + r.stderr[-2000:]))
            return
        sup = Pmtr(counting)
        counts_dir = os.path.join(self.base, "allocs")
        os.makedirs(counts_dir, exist_ok=True)
        sup.env = lambda inst: {"PMTR_LOG_SOCKET": os.path.join(inst.dir, "no-syslog"),
                                "ALLOCCOUNT_DIR": counts_dir}
        self.counts_dir = counts_dir
        log("allocations: starting pmtr twice with the counting heap, %d jobs each" % self.k)
        for _ in (self.n1, self.n2):
            inst = Instance(sup, self.base, job_names(self.k, "a"), [self.job])
            self.insts.append(inst)
            inst.start()

    def finish(self):
        if not self.insts:
            return
        n1, n2 = self.n1, self.n2
        try:
            for inst in self.insts:
                inst.wait_all_running(60)
            time.sleep(max(0, max(i.reports.last_t for i in self.insts) + ANTI_SPIN_S + 1 - now()))
            log("allocations: %d and %d restarts" % (n1, n2))
            for inst, n in zip(self.insts, (n1, n2)):
                for name in inst.jobs[:n]:
                    old = inst.reports.pid[name]
                    os.kill(old, signal.SIGKILL)
                    inst.wait_until(lambda: inst.reports.pid[name] != old, 10.0,
                                    "%s to come back" % name)
            counts = []
            for inst in self.insts:
                root = inst.proc.pid
                os.kill(root, signal.SIGTERM)
                finish(inst.proc, 30)
                counts.append(read_count(os.path.join(self.counts_dir, "allocs.%d" % root)))
            per = (counts[1] - counts[0]) / float(n2 - n1)
            self.results.put("allocs", "pmtr", {
                "unit": "allocs/restart", "median": per, "min": per, "max": per, "n": n2 - n1,
                "totals": counts, "restarts": [n1, n2]})
        except (TargetFailed, subprocess.TimeoutExpired) as e:
            self.results.fail("allocs", "pmtr", e)
        finally:
            self.close()

    def close(self):
        for inst in self.insts:
            inst.close()
        self.insts = []


def read_count(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        raise TargetFailed("pmtr left no allocation count (%s): did it exit normally?" % path)


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return set(f.read().split())
    except OSError:
        return set()


def fig_soak(pmtr, results, base, restarts):
    """RSS, PSS and open fds of pmtr while 1000 `sleep 10` jobs restart at
    about 100 per second: after 1,000 restarts and after `restarts`.
    Starts are counted as new child pids, polled each second: every job
    lives 10 s, so none is missed, and no log level is assumed."""
    log("soak: pmtr, 1000 jobs of /bin/sleep 10, until %d restarts (~%d min)"
        % (restarts, restarts // 6000 + 1))
    sleep = shutil.which("sleep") or "/bin/sleep"
    inst = Instance(pmtr, base, job_names(1000, "s"), [sleep, "10"])
    points = []
    try:
        t0 = inst.start()
        pid = inst.proc.pid
        seen, starts, next_mark = set(), 0, 1000
        end = t0 + restarts / 20.0 + 300
        last_sample = 0.0
        while True:
            inst.check_alive()
            if now() > end:
                raise TargetFailed("only %d restarts after %.0f s" % (starts - 1000, now() - t0))
            time.sleep(1.0)
            kids = children(pid)
            starts += len(kids - seen)
            seen = kids
            done = starts - 1000
            if done >= next_mark or now() - last_sample > 60:
                points.append({"restarts": max(0, done), "seconds": round(now() - t0, 1),
                               "rss_kb": status_kb(pid, "VmRSS"), "pss_kb": smaps_kb(pid, "Pss"),
                               "fds": len(os.listdir("/proc/%d/fd" % pid))})
                last_sample = now()
                if done >= next_mark:
                    log("soak: %d restarts, RSS %d KB, %d fds"
                        % (done, points[-1]["rss_kb"], points[-1]["fds"]))
                    if next_mark >= restarts:
                        break
                    next_mark = restarts
        first = next(p for p in points if p["restarts"] >= 1000)
        last = points[-1]
        results.put("soak", "pmtr", {"unit": "KB", "n": len(points), "median": last["rss_kb"],
                                     "min": first["rss_kb"], "max": last["rss_kb"],
                                     "after_1000": first, "after_all": last,
                                     "growth_kb": last["rss_kb"] - first["rss_kb"],
                                     "fd_growth": last["fds"] - first["fds"],
                                     "rate_per_s": round(last["restarts"] / max(1, last["seconds"]), 1),
                                     "points": points})
    except TargetFailed as e:
        results.fail("soak", "pmtr", e)
    finally:
        inst.close()


def fig_arm(results, c_peers, reps):
    """Bytes and PSS with one job on a real 32-bit ARM kernel: bench/arm-vm.sh
    boots Debian's armmp kernel under qemu-system-arm with pmtr's armv7 and
    armv6 builds from target/dist/ and any C pmtr ARM binaries given
    (--peer pmtr-c-armv7=PATH, pmtr-c-armv6=PATH). One figure per target
    (arm_armv7, arm_armv6), one entry per supervisor and flavour: "pmtr"
    (min), "pmtr-release" (if `make cross` built it), "pmtr-c"."""
    binaries = []
    for short in ("armv7", "armv6"):
        for suffix in ("-min", ""):
            path = os.path.join(ROOT, "target", "dist", "pmtr-%s%s" % (short, suffix))
            if os.path.isfile(path):
                binaries.append(("pmtr-%s%s" % (short, suffix), path))
        if ("pmtr-c-" + short) in c_peers:
            binaries.append(("pmtr-c-" + short, c_peers["pmtr-c-" + short]))
    if not any(n.endswith("-min") for n, _ in binaries):
        results.fail("arm_armv7", "pmtr", TargetFailed(
            "no target/dist/pmtr-armv7-min: run `sh cross/local-build.sh min` first"))
        return
    log("arm: booting the armmp kernel under qemu-system-arm for %s"
        % ", ".join(n for n, _ in binaries))
    argv = ["sh", os.path.join(BENCH, "arm-vm.sh"), "--reps", str(reps)]
    argv += ["%s=%s" % (n, p) for n, p in binaries]
    p = spawn(argv, stdout=subprocess.PIPE, text=True,
              env=dict(os.environ, BENCH_TOKEN=TOKEN + "-arm"))
    out, _ = p.communicate()
    finish(p)
    runs = collections.defaultdict(list)
    kernel = None
    for line in out.split("\n"):
        f = line.split()
        if f[:2] == ["ARMVM", "kernel"]:
            kernel = " ".join(f[2:])
        elif f[:2] == ["ARMVM", "result"] and len(f) == 7:
            runs[f[2]].append([int(x) for x in f[3:]])
        elif f[:2] == ["ARMVM", "fail"]:
            results.fail(arm_key(f[2]), arm_sup(f[2]), TargetFailed(" ".join(f[3:])))
    if p.returncode != 0 and not runs:
        results.fail("arm_armv7", "pmtr", TargetFailed(
            "bench/arm-vm.sh exited with status %d (its messages are above)" % p.returncode))
        return
    for name, rows in runs.items():
        pss = [r[1] for r in rows]
        entry = summary(pss, "KB")
        entry.update({"bytes": rows[0][0], "rss_kb": statistics.median(r[2] for r in rows),
                      "processes": rows[0][3], "binary": name, "kernel": kernel,
                      "machine": "qemu-system-arm -M virt -cpu cortex-a7"})
        results.put(arm_key(name), arm_sup(name), entry)


def arm_key(name):
    return "arm_armv6" if "armv6" in name else "arm_armv7"


def arm_sup(name):
    if name.startswith("pmtr-c-"):
        return "pmtr-c"
    return "pmtr" if name.endswith("-min") else "pmtr-release"


def arm_table(results):
    """Bytes and PSS per ARM target: pmtr's size-optimised build, its
    release build when present, the C pmtr when given, and pmtr ÷ C."""
    out = ("| target | binary | bytes | PSS, 1 job (KB) | RSS (KB) | processes "
           "| pmtr ÷ C (bytes, PSS) |\n|---|---|---|---|---|---|---|\n")
    any_row = False
    for key, target in (("arm_armv7", "armv7"), ("arm_armv6", "armv6")):
        per = results.fig.get(key, {})
        c = per.get("pmtr-c", {})
        for sup in ("pmtr", "pmtr-release", "pmtr-c"):
            v = per.get(sup)
            if not v:
                continue
            any_row = True
            if "median" not in v:
                out += "| %s | %s | failed: %s | | | | |\n" % (target, sup, v.get("error", "?")[:80])
                continue
            ratio = ""
            if sup != "pmtr-c" and "median" in c:
                ratio = "%.2f×, %.2f×" % (v["bytes"] / c["bytes"], v["median"] / c["median"])
            pss = fmt(v["median"]) + (" (%s–%s)" % (fmt(v["min"]), fmt(v["max"]))
                                      if v["min"] != v["max"] else "")
            out += "| %s | %s | %d | %s | %s | %d | %s |\n" % (
                target, v.get("binary", sup), v["bytes"], pss, fmt(v["rss_kb"]),
                v["processes"], ratio)
    return out if any_row else ""


# --- report ------------------------------------------------------------------

ROWS = [
    ("size", "binary size, stripped executables (KB)"),
    ("size_min", "… pmtr's size-optimised build (KB)"),
    ("size_libs", "… plus non-libc libraries / runtime (KB)"),
    ("procs_1", "supervisor processes, 1 job"),
    ("pss_1", "memory PSS, 1 job (KB)"),
    ("pss_10", "memory PSS, 10 jobs (KB)"),
    ("pss_100", "memory PSS, 100 jobs (KB)"),
    ("pss_1000", "memory PSS, 1000 jobs (KB)"),
    ("rss_100", "memory RSS, 100 jobs (KB)"),
    ("start_100", "start-all, 100 jobs (ms)"),
    ("start_1000", "start-all, 1000 jobs (ms)"),
    ("start_after_100", "start-all, 100 jobs in an `after` tree (ms)"),
    ("start_after_1000", "start-all, 1000 jobs in an `after` tree (ms)"),
    ("respawn", "respawn latency, median (ms)"),
    ("respawn_p99", "respawn latency, p99 (ms)"),
    ("respawn_contention", "respawn beside %d busy loops, median (ms)" % BUSY_LOOPS),
    ("respawn_contention_p99", "respawn beside %d busy loops, p99 (ms)" % BUSY_LOOPS),
    ("shutdown_100", "shutdown, 100 jobs (ms)"),
    ("shutdown_1000", "shutdown, 1000 jobs (ms)"),
    ("idle", "idle system calls per minute, 10 jobs"),
    ("idle_ticks", "idle CPU ticks in the window"),
    ("reload_rename", "reload, config renamed into place (ms)"),
    ("reload_inplace", "reload, config written in place (ms)"),
    ("reload_disturbed", "untouched jobs restarted by the edits"),
    ("allocs", "heap allocations per restart"),
    ("soak_1k", "RSS after 1,000 restarts (KB)"),
    ("soak_all", "RSS after the whole soak (KB)"),
]


def cell_value(fig, key):
    """(median, min, max) for a table row, or None."""
    if key == "size":
        v = fig.get("size")
        return v and "bytes" in v and (v["bytes"] / 1024.0,) * 3
    if key == "size_min":
        v = (fig.get("size") or {}).get("size_optimised")
        return v and (v["bytes"] / 1024.0,) * 3
    if key == "size_libs":
        v = fig.get("size")
        if not v or "bytes" not in v:
            return None
        extra = v.get("runtime_bytes", v.get("lib_bytes", 0))
        return ((v["bytes"] + extra) / 1024.0,) * 3
    if key.endswith("_p99"):
        v = fig.get(key[:-len("_p99")])
        return v and "p99" in v and (v["p99"],) * 3
    if key == "idle":
        v = fig.get("idle")
        return v and "per_minute" in v and (v["per_minute"],) * 3
    if key == "idle_ticks":
        v = fig.get("idle")
        return v and "cpu_ticks" in v and (v["cpu_ticks"],) * 3
    if key in ("soak_1k", "soak_all"):
        v = fig.get("soak")
        if not v or "after_1000" not in v:
            return None
        p = v["after_1000"] if key == "soak_1k" else v["after_all"]
        return (p["rss_kb"],) * 3
    v = fig.get(key)
    return v and "median" in v and (v["median"], v["min"], v["max"])


def fmt(x):
    if float(x).is_integer() and abs(x) < 1e6:
        return "%d" % x
    if abs(x) >= 100:
        return "%.0f" % x
    if abs(x) >= 10:
        return "%.1f" % x
    return "%.2f" % x


def table(results, names):
    """The markdown table, a column per name. The column "floor" is the
    harness spawning the job itself (respawn_floor*), in the respawn rows."""
    head = "| figure | " + " | ".join(names) + " |\n|---|" + "---|" * len(names) + "\n"
    body = ""
    figs = {}
    for name in names:
        if name == "floor":
            figs[name] = {k.replace("respawn_floor", "respawn", 1): v["harness"]
                          for k, v in results.fig.items()
                          if k.startswith("respawn_floor") and "harness" in v}
        else:
            figs[name] = {k: v.get(name) for k, v in results.fig.items() if v.get(name)}
    for key, label in ROWS:
        per = {}
        for name in names:
            per[name] = cell_value(figs[name], key)
        if not any(per.values()):
            continue
        cells = []
        base = per.get("pmtr")
        for name in names:
            v = per[name]
            if not v:
                err = results.fig.get(key.split("_p99")[0], {}).get(name, {})
                cells.append("failed" if isinstance(err, dict) and "error" in err else "—")
                continue
            text = fmt(v[0])
            if v[1] != v[2]:
                text += " (%s–%s)" % (fmt(v[1]), fmt(v[2]))
            if name != "pmtr" and base and base[0] > 0:
                text += " ×%s" % fmt(v[0] / base[0])
            cells.append(text)
        body += "| %s | %s |\n" % (label, " | ".join(cells))
    return head + body if body else ""


# The targets this rewrite set itself (README "benchmarks"); the original C
# pmtr's figures on this machine kind are in the README beside them.
TARGETS = [
    ("size_min", "size-optimised binary ≤ 120 KB", 120, "KB"),
    ("procs_1", "one process", 1, ""),
    ("pss_1", "PSS ≤ 120 KB with 1 job", 120, "KB"),
    ("pss_100", "PSS ≤ 250 KB with 100 jobs", 250, "KB"),
    ("pss_1000", "PSS ≤ 1 MB with 1000 jobs", 1024, "KB"),
    ("start_1000", "1000 jobs started ≤ 300 ms", 300, "ms"),
    ("start_after_1000", "1000 jobs in an `after` tree started ≤ 300 ms", 300, "ms"),
    ("respawn", "respawn ≤ 0.6 ms median", 0.6, "ms"),
    ("reload_rename", "edit applied ≤ 10 ms (rename)", 10, "ms"),
    ("reload_inplace", "edit applied ≤ 10 ms (in place)", 10, "ms"),
    ("shutdown_100", "shutdown of 100 jobs ≤ 50 ms", 50, "ms"),
    ("idle", "0 system calls idle", 0, "per min"),
    ("allocs", "0 heap allocations per restart", 0, ""),
]


def targets(results):
    rows = []
    fig = {k: v.get("pmtr") for k, v in results.fig.items() if v.get("pmtr")}
    for key, what, limit, unit in TARGETS:
        if key == "size_min" and not cell_value(fig, key):
            key, what = "size", "binary size ≤ 120 KB (no size-optimised build found)"
        v = cell_value(fig, key)
        if v:
            rows.append({"target": what, "measured": v[0], "unit": unit, "met": v[0] <= limit})
    soak = fig.get("soak")
    if soak and "growth_kb" in soak:
        rows.append({"target": "no RSS growth over the soak", "measured": soak["growth_kb"],
                     "unit": "KB", "met": soak["growth_kb"] <= 0})
    # The ratios against the peers measured in the same run.
    peers = {k: v for k, v in results.fig.get("pss_100", {}).items()
             if not k.startswith("pmtr") and "median" in v}
    mine = results.fig.get("pss_100", {}).get("pmtr", {})
    if peers and "median" in mine:
        rows.append({"target": "PSS at 100 jobs below every peer's", "measured": mine["median"],
                     "unit": "KB", "met": all(mine["median"] < v["median"] for v in peers.values())})
    peers = {k: v for k, v in results.fig.get("respawn", {}).items()
             if not k.startswith("pmtr") and k not in REFERENCES and "median" in v}
    mine = results.fig.get("respawn", {}).get("pmtr", {})
    if peers and "median" in mine:
        fastest = min(v["median"] for v in peers.values())
        rows.append({"target": "respawn within 1.5× of the fastest peer (%s ms)" % fmt(fastest),
                     "measured": mine["median"], "unit": "ms",
                     "met": mine["median"] <= 1.5 * fastest})
    return rows + c_targets(results) + respawn_targets(results)


# Issue 18: against the original C pmtr measured in the same run (--peer
# pmtr-c=PATH): (figure, build of pmtr compared, at most this times the C's).
C_TARGETS = [
    ("size", "pmtr-min", 1.0),
    ("pss_1", "pmtr-min", 1.0),
    ("pss_100", "pmtr", 0.75),
    ("pss_1000", "pmtr", 0.5),
]


def c_targets(results):
    rows = []
    fig = results.fig
    for key, build, limit in C_TARGETS:
        c = cell_value({key: fig.get(key, {}).get("pmtr-c")}, key)
        if not c:
            continue
        if key == "size":
            mine = cell_value({"size": fig[key].get("pmtr")}, "size_min")
            what = "size-optimised binary"
            if not mine:
                mine, what = cell_value({"size": fig[key].get("pmtr")}, "size"), "binary"
        else:
            what = "PSS with %s%s" % (plural(int(key.split("_")[1]), "job"),
                                           ", size-optimised build" if build == "pmtr-min" else "")
            mine = cell_value({key: fig[key].get(build)}, key)
            if not mine and build == "pmtr-min":
                mine, what = cell_value({key: fig[key].get("pmtr")}, key), what.split(",")[0]
        if not mine:
            continue
        bound = "the C pmtr's" if limit == 1.0 else "%s× the C pmtr's" % fmt(limit)
        rows.append({"target": "%s ≤ %s (%s %s)" % (what, bound, fmt(c[0]), "KB"),
                     "measured": mine[0], "unit": "KB", "met": mine[0] <= limit * c[0]})
    for key, target in (("arm_armv7", "armv7"), ("arm_armv6", "armv6")):
        per = fig.get(key, {})
        mine, c = per.get("pmtr", {}), per.get("pmtr-c", {})
        if "median" in mine and "median" in c:
            rows.append({"target": "%s size-optimised binary ≤ the C pmtr's (%s KB)"
                         % (target, fmt(c["bytes"] / 1024.0)), "measured": mine["bytes"] / 1024.0,
                         "unit": "KB", "met": mine["bytes"] <= c["bytes"]})
            rows.append({"target": "%s PSS with 1 job ≤ the C pmtr's (%s KB)"
                         % (target, fmt(c["median"])), "measured": mine["median"],
                         "unit": "KB", "met": mine["median"] <= c["median"]})
    return rows


def plural(n, word):
    return "%d %s%s" % (n, word, "" if n == 1 else "s")


def respawn_targets(results):
    """Issue 18: pmtr's respawn median and p99, quiet and beside the busy
    loops, the best of every supervisor measured (the C pmtr included) and
    within 0.1 ms of the floor."""
    rows = []
    for key, when in (("respawn", "quiet"), ("respawn_contention", "under contention")):
        per = results.fig.get(key, {})
        floor = results.fig.get(key.replace("respawn", "respawn_floor", 1), {}).get("harness", {})
        mine = per.get("pmtr", {})
        others = {k: v for k, v in per.items()
                  if k not in ("pmtr", "pmtr-min") + REFERENCES and "median" in v}
        for stat in ("median", "p99"):
            if stat not in mine or stat not in floor:
                continue
            vals = [v[stat] for v in others.values() if stat in v]
            best = min(vals) if vals else None
            met = mine[stat] <= floor[stat] + 0.1 and (best is None or mine[stat] <= best)
            rows.append({"target": "respawn %s %s ≤ every peer's%s and ≤ floor + 0.1 ms (%s ms)"
                         % (stat, when, " (best %s ms)" % fmt(best) if best is not None else "",
                            fmt(floor[stat])),
                         "measured": mine[stat], "unit": "ms", "met": met})
    return rows


def targets_table(rows):
    out = "| target | pmtr | met |\n|---|---|---|\n"
    for r in rows:
        out += "| %s | %s | %s |\n" % (r["target"], ("%s %s" % (fmt(r["measured"]), r["unit"])).strip(),
                                       "yes" if r["met"] else "**no**")
    return out


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = 0
    try:
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) // 1024
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "model": model, "kernel": platform.release(),
            "arch": platform.machine(), "mem_mb": mem}


# --- setup -------------------------------------------------------------------

def tmp_dir():
    """tmpfs if there is one: supervisors keep their state files in /run on
    real systems, and on a disk each runsv state write costs a journal
    commit that would be measured as respawn latency."""
    for d in ("/dev/shm", "/run"):
        try:
            with open("/proc/mounts") as f:
                on_tmpfs = any(line.split()[1] == d and line.split()[2] == "tmpfs" for line in f)
        except OSError:
            on_tmpfs = False
        if on_tmpfs and os.access(d, os.W_OK):
            return d
    return None

def default_pmtr(quick):
    """What a device runs is the static musl build, so the full run builds
    and measures that when the target is installed; --quick measures the
    release build `make bench-quick` just made, to stay under a minute."""
    release = os.path.join(ROOT, "target", "release", "pmtr")
    triple = "%s-unknown-linux-musl" % platform.machine()
    sysroot = subprocess.run(["rustc", "--print", "sysroot"], capture_output=True,
                             text=True).stdout.strip()
    if quick or not os.path.isdir(os.path.join(sysroot, "lib", "rustlib", triple)):
        return release
    log("building the static %s release" % triple)
    r = subprocess.run(["cargo", "build", "--release", "-q", "--target", triple], cwd=ROOT,
                       capture_output=True, text=True)
    if r.returncode != 0:
        log("musl build failed, measuring %s instead:\n%s" % (release, r.stderr[-800:]))
        return release
    return os.path.join(ROOT, "target", triple, "release", "pmtr")


def ensure_peers(peers, install):
    missing = [p for p in peers if not p.available()]
    if not missing or not install:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        log("peers missing (%s); not root or no apt-get, skipping them"
            % ", ".join(p.name for p in missing))
        return
    pkgs = sorted({pkg for p in missing for pkg in p.packages})
    log("installing %s" % " ".join(pkgs))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + pkgs,
                      env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True)
        r = subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + pkgs,
                           env=env, capture_output=True, text=True)
        if r.returncode != 0:
            log("apt-get install failed: %s" % r.stderr.strip()[-300:])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="under a minute: fewer jobs and samples, pmtr and runit only")
    ap.add_argument("--soak", action="store_true", help="add the soak (~17 min more)")
    ap.add_argument("--soak-restarts", type=int, default=100000)
    ap.add_argument("--peers", default=None,
                    help="comma-separated peers (default: all; runit in --quick)")
    ap.add_argument("--only", default=None,
                    help="comma-separated figures: %s" % figure_list())
    ap.add_argument("--peer", action="append", default=[], metavar="NAME=PATH",
                    help="a peer you built, by path (never fetched or built here): "
                    "pmtr-c=PATH, the original C pmtr for this machine, joins every figure "
                    "it has; pmtr-c-armv7=PATH and pmtr-c-armv6=PATH join the ARM VM run "
                    "(--only arm). Repeat for several")
    ap.add_argument("--arm", action="store_true",
                    help="add the ARM VM run (bench/arm-vm.sh, about five minutes; needs "
                    "qemu-system-arm and the min builds in target/dist/)")
    ap.add_argument("--pmtr", default=None,
                    help="the binary to measure (default: the static musl release build "
                    "in full mode, target/release/pmtr in --quick)")
    ap.add_argument("--out", default=None, help="results file (default bench/results.json, "
                    "bench/out/results-quick.json with --quick)")
    ap.add_argument("--no-install", action="store_true", help="never apt-get install peers")
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs")
    ap.add_argument("--merge", action="store_true",
                    help="keep the figures of the results file this run does not measure "
                    "(e.g. --only soak --merge adds the soak to bench/results.json)")
    ap.add_argument("--tmp", default=None, help="where the temp dirs go (default: a tmpfs)")
    args = ap.parse_args()

    quick = args.quick
    # "respawn-contention" on the command line, respawn_contention inside.
    only = {f.strip().replace("-", "_") for f in args.only.split(",")} if args.only else None
    unknown = sorted((only or set()) - set(FIGURES))
    if unknown:
        ap.error("unknown figure %s (figures: %s)" % (", ".join(unknown), figure_list()))
    if args.soak and only is not None:
        only.add("soak")
    if args.arm and only is not None:
        only.add("arm")

    def want(f):
        if f in ("soak", "arm"):
            flag = args.soak if f == "soak" else args.arm
            return flag and not quick or (only is not None and f in only)
        return only is None or f in only

    path_peers, arm_peers = parse_path_peers(ap, args.peer)
    all_peers = [Runit(), S6(), Daemontools(), Supervisord()]
    wanted = args.peers.split(",") if args.peers is not None else (["runit"] if quick else None)
    peers = [p for p in all_peers if wanted is None or p.name in wanted]
    # Only the figures that run every supervisor need the packaged peers.
    if not any(want(f) for f in ("size", "start", "respawn", "respawn_contention", "idle")):
        peers = []
    ensure_peers(peers, install=not quick and not args.no_install)
    skipped = [p.name for p in peers if not p.available()]
    peers = [p for p in peers if p.available()]
    pmtr = Pmtr(os.path.abspath(args.pmtr or default_pmtr(quick)))
    if not pmtr.available():
        raise RuntimeError("%s is missing: run `cargo build --release` (make bench does)" % args.pmtr)
    sups = [pmtr] + path_peers + peers

    become_subreaper()
    raise_fd_limit()
    job = build_job()
    base = tempfile.mkdtemp(prefix="pmtr-bench-", dir=args.tmp or tmp_dir())
    results = Results()
    started = time.time()
    names_extra = []
    names_extra_tail = []
    load_before = os.getloadavg()
    out = args.out or (os.path.join(OUT, "results-quick.json") if quick
                       else os.path.join(BENCH, "results.json"))
    old = None
    if args.merge and os.path.exists(out):
        with open(out) as f:
            old = json.load(f)

    def save():
        """Writes what has been measured so far, so a failure late in a long
        run loses nothing; with --merge, figures this run did not measure
        are kept from the file."""
        doc = {
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
            "duration_s": round(time.time() - started),
            "mode": "quick" if quick else "full",
            "machine": machine(),
            # Other work on the machine during the run shows up as noise.
            "loadavg_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
            "versions": {s.name: s.version() for s in sups},
            "pmtr_binary": os.path.relpath(pmtr.binary, ROOT),
            "skipped": skipped,
            "figures": dict(results.fig),
            "loadavg_at_figure": dict(results.load),
            "measured_at": dict(results.when),
            "targets": targets(results),
            "failures": results.failures,
        }
        if old is not None:
            for key, per in old.get("figures", {}).items():
                doc["figures"].setdefault(key, per)
            for key in ("loadavg_at_figure", "measured_at"):
                for fig, value in old.get(key, {}).items():
                    doc[key].setdefault(fig, value)
            # The supervisors this run did not start keep their versions.
            doc["versions"] = dict(old.get("versions", {}), **doc["versions"])
            doc["merged_from"] = old.get("merged_from", []) + [old.get("date")]
            doc["failures"] = [x for x in old.get("failures", [])
                               if x["figure"] not in results.fig] + results.failures
            for k in ("date", "duration_s"):
                doc["%s_merged" % k] = doc[k]
                doc[k] = old.get(k, doc[k])
        os.makedirs(os.path.dirname(out), exist_ok=True)
        tmp = out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(doc, f, indent=1, sort_keys=True)
            f.write("\n")
        os.rename(tmp, out)
        return doc

    log("pmtr bench (%s): %s; job %s; temp dir %s"
        % ("quick" if quick else "full", ", ".join(s.name for s in sups), job, base))
    try:
        if want("size"):
            results.begin("size")
            fig_sizes(sups, results)
            save()
        if want("start"):
            # The size-optimised build, if the cross scripts left one, for
            # the memory and start figures only: what a device would run.
            opt = size_optimised_pmtr(pmtr.binary)
            extra = [Pmtr(opt, "pmtr-min")] if opt and not quick else []
            if extra:
                names_extra.extend(x.name for x in extra)
            results.begin("start")
            fig_start_memory_shutdown(sups[:1] + extra + sups[1:], results, base, job,
                                      [1, 10, 100] if quick else [1, 10, 100, 1000],
                                      1 if quick else 3, 0.3 if quick else 1.0)
            save()
        if want("after"):
            results.begin("after")
            fig_start_after_tree(pmtr, results, base, job, 100 if quick else 1000,
                                 2 if quick else 3)
            save()
        allocs = Allocations(results, base, job, *((12, 4, 12) if quick else (60, 10, 60)))
        try:
            if quick and want("allocs"):
                allocs.begin()  # its anti-spin wait overlaps the respawn one
            phases = [k for k in RESPAWN_PHASES if want(k)]
            if phases:
                for key in phases:
                    results.begin(key)
                # The minimal supervisor last, as the reference beside the floor.
                minimal = Minimal(build_job("minimal"))
                names_extra_tail.append(minimal.name)
                fig_respawn(sups + [minimal], results, base, job, 30 if quick else 250,
                            grouped=quick, phases=phases)
                for key in phases:
                    log("respawn floor: the harness spawning the job itself%s"
                        % (", %d busy loops beside it" % RESPAWN_PHASES[key]
                           if RESPAWN_PHASES[key] else ""))
                    respawn_floor(results, base, job, 30 if quick else 250, key)
                save()
            if want("reload"):
                results.begin("reload")
                for sup in [pmtr] + path_peers:
                    fig_reload(sup, results, base, job, 5 if quick else 30)
                save()
            if want("idle"):
                results.begin("idle")
                fig_idle(sups, results, base, job, 5 if quick else 60)
                save()
            if want("allocs"):
                if not quick:
                    allocs.begin()
                results.begin("allocs")
                allocs.finish()
                save()
        finally:
            allocs.close()
        if want("soak"):
            results.begin("soak")
            fig_soak(pmtr, results, base, 2000 if quick else args.soak_restarts)
            save()
        if want("arm"):
            results.begin("arm")
            fig_arm(results, arm_peers, 5)
            save()
    finally:
        kill_token(TOKEN)
        reap()
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)

    doc = save()
    measured = dict(results.fig)
    if args.merge:
        results.fig = collections.defaultdict(dict, doc["figures"])
    names = ([s.name for s in sups[:1]] + names_extra + [s.name for s in sups[1:]]
             + names_extra_tail)
    if args.merge:
        seen = {n for k, per in results.fig.items() if not k.startswith("arm_") for n in per}
        order = (["pmtr", "pmtr-min"] + list(PATH_PEERS) + [p.name for p in all_peers]
                 + list(REFERENCES))
        names = [n for n in order if n in seen]
    if any(k.startswith("respawn_floor") for k in results.fig):
        names.append("floor")
    tgt = targets(results)
    m = doc["machine"]
    print("\n%s, %s mode, %d CPUs (%s), Linux %s, %d s%s\n"
          % (doc["date"], doc["mode"], m["nproc"], m["model"], m["kernel"], doc["duration_s"],
             "; %s re-measured %s" % (",".join(sorted(only or ())), doc["date_merged"])
             if "date_merged" in doc else ""))
    print(table(results, names))
    for key, when in (("respawn_floor", ""), ("respawn_floor_contention",
                                              ", %d busy loops beside it" % BUSY_LOOPS)):
        floor = results.fig.get(key, {}).get("harness")
        if floor:
            print("respawn floor (the harness spawning the job itself, no supervisor%s): "
                  "median %s ms, p99 %s ms" % (when, fmt(floor["median"]),
                                               fmt(floor.get("p99", floor["max"]))))
    arm = arm_table(results)
    if arm:
        print("\nOn a real ARM kernel (Debian armmp under qemu-system-arm -M virt -cpu "
              "cortex-a7), one job, sum of PSS:\n")
        print(arm)
    else:
        print()
    if tgt:
        print(targets_table(tgt))
    if skipped:
        print("not installed, skipped: %s\n" % ", ".join(skipped))
    for f in results.failures:
        print("failed: %s / %s: %s" % (f["figure"], f["supervisor"], f["error"]))
    print("wrote %s" % os.path.relpath(out, ROOT))

    # A figure nobody could produce means the harness (or everything) broke.
    broken = [k for k, v in measured.items() if v and all("error" in x for x in v.values())
              and (only is None or any(k.startswith(f) for f in only))
              and not any(x["error"].startswith("unavailable:") for x in v.values())]
    if broken:
        print("no supervisor produced: %s" % ", ".join(sorted(broken)), file=sys.stderr)
        return 1
    return 0


def on_signal(signum, frame):
    raise Interrupted("signal %d" % signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    try:
        sys.exit(main())
    except (KeyboardInterrupt, Interrupted):
        log("interrupted; everything this run started has been stopped")
        sys.exit(130)
    except Exception:
        traceback.print_exc()
        sys.exit(2)
