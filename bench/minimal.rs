//! The least a supervisor can do, as a reference for the respawn figures:
//! start each job, block in `waitpid(-1)`, start the replacement of
//! whichever job exited, at once. No configuration, no logging, no
//! anti-spin delay, no signal handling; std's `Command::spawn` (posix_spawn
//! underneath).
//!
//!     minimal JOB NAME...     runs `JOB NAME` for each NAME
//!
//! The respawn figure times a job's SIGKILL until its replacement reports.
//! The harness spawning the job itself (the "floor") leaves out the part
//! every supervisor must wait for: the job dying, and its parent being woken
//! to reap it. This program includes it, and under contention it is a
//! sleeping process woken by its child's exit, as a supervisor is, where the
//! floor is the busy harness. Built by bench.py with plain rustc, like job.rs.

use std::collections::HashMap;
use std::process::Command;

extern "C" {
    // std has no wait-for-any-child; libc is linked anyway.
    fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
}

fn start(job: &str, name: &str) -> i32 {
    match Command::new(job).arg(name).spawn() {
        Ok(child) => child.id() as i32,
        Err(e) => {
            eprintln!("minimal: can't start {job} {name}: {e}");
            std::process::exit(111);
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(job) = args.next() else {
        eprintln!("usage: minimal JOB NAME...");
        std::process::exit(100);
    };
    let mut running: HashMap<i32, String> = HashMap::new();
    for name in args {
        running.insert(start(&job, &name), name);
    }
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes one int through a pointer to a live local.
        let pid = unsafe { waitpid(-1, &mut status, 0) };
        if pid < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            eprintln!("minimal: waitpid: {e}");
            std::process::exit(111);
        }
        if let Some(name) = running.remove(&pid) {
            running.insert(start(&job, &name), name);
        }
    }
}
