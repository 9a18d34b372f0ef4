//! The job every supervisor runs in the benchmark: it reports "NAME PID\n"
//! into the FIFO named by $BENCH_FIFO (one write, shorter than PIPE_BUF, so
//! reports from many jobs never interleave), then sleeps until killed.
//!
//! NAME is argv[1] when given (pmtr, supervisord), or else the name of the
//! working directory: runsv, s6-supervise and supervise run `./run` (a
//! symlink to this program) from inside the service directory.
//!
//! Built by bench.py with plain rustc, std only, so the harness needs no
//! crate and every supervisor execs the same small static program.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::time::Duration;

const O_NONBLOCK: i32 = 0o4000;

fn main() {
    let name = match std::env::args_os().nth(1) {
        Some(arg) => arg.to_string_lossy().into_owned(),
        None => std::env::current_dir()
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "?".into()),
    };
    if let Some(fifo) = std::env::var_os("BENCH_FIFO") {
        // Non-blocking: if the harness has gone, the job must not hang in
        // open(2); it then just sleeps like the others until it is stopped.
        if let Ok(mut f) = OpenOptions::new().write(true).custom_flags(O_NONBLOCK).open(fifo) {
            let _ = f.write_all(format!("{name} {}\n", std::process::id()).as_bytes());
        }
    }
    loop {
        std::thread::sleep(Duration::from_secs(1 << 20));
    }
}
