//! Applying a new configuration (SPEC §6): added jobs start, removed jobs
//! stop, changed jobs restart with their new settings, unchanged jobs are
//! left running untouched. A configuration with errors changes nothing.

use crate::clock::Instant;
use crate::prelude::*;

use super::event_loop::{Job, Supervisor};
use super::job::JobState;
use crate::config::{self, Config};
use crate::spawn::Launch;
use crate::users::Users;

/// How soon a configuration file that exists but failed to read is read
/// again.
const REREAD_AFTER: core::time::Duration = core::time::Duration::from_secs(1);

/// How long a configuration (or `depends`) file that became empty must
/// stay empty before pmtr acts on it.
pub(super) const EMPTY_SETTLE: core::time::Duration = core::time::Duration::from_millis(300);

impl Supervisor {
    /// Re-reads the configuration; applies it when its content changed
    /// (or always, when `force`d by SIGHUP or at startup). Also restarts
    /// jobs whose `depends` files changed, and renews the file watches.
    pub(super) fn rescan(&mut self, force: bool) {
        let now = Instant::now();
        let label = self.config_path.clone();
        let read = config::read(&self.config_path);
        // A write that began before or during the read makes it suspect
        // (an in-place save truncates, then writes): its IN_CLOSE_WRITE
        // brings pmtr back for the finished file.
        let changes = self.watcher.drain();
        self.pending_rescan |= changes.settled;
        let read = if changes.config_in_flux {
            if force {
                info!("{label} is being written; reading it once it is closed");
            }
            None
        } else {
            Some(read)
        };
        match read {
            None => {}
            Some(Err(e)) => {
                let text = e.to_string();
                if self.last_read_error.as_deref() != Some(&text) {
                    if self.have_config {
                        error!("{text}; the running jobs go on as configured");
                    } else {
                        error!("{text}; waiting for a valid configuration");
                    }
                    self.last_read_error = Some(text);
                }
                // The next successful read must be applied.
                self.config_hash = None;
                // A regular file pmtr may read that still failed (out of
                // descriptors or memory, an I/O error) is read again in a
                // second: its save already happened, no event will follow.
                let transient = crate::files::file_size(&self.config_path)
                    .is_some_and(|len| len <= config::MAX_FILE_BYTES)
                    && config::check_trust(&self.config_path).is_ok();
                self.reread_at = transient.then(|| now + REREAD_AFTER);
            }
            Some(Ok(bytes)) => {
                self.reread_at = None;
                self.last_read_error = None;
                // A save in place (open with O_TRUNC, then write) leaves
                // the file empty for a moment; a read then would stop
                // every job. An empty file is applied only once it has
                // stayed empty for EMPTY_SETTLE; the writer's close
                // brings the real content before that.
                let settling = if bytes.is_empty() && self.jobs.iter().any(|j| j.active()) {
                    let since = *self.empty_since.get_or_insert(now);
                    self.reread_at = (now < since + EMPTY_SETTLE).then_some(since + EMPTY_SETTLE);
                    self.reread_at.is_some()
                } else {
                    self.empty_since = None;
                    false
                };
                let hash = crate::files::content_hash(&bytes);
                if !settling && (force || self.config_hash != Some(hash)) {
                    self.config_hash = Some(hash);
                    info!("rescanning configuration {label}");
                    match config::parse_bytes(&label, &bytes) {
                        Ok(cfg) => {
                            for w in &cfg.warnings {
                                warn!("{w}");
                            }
                            self.apply(cfg, now)
                        }
                        Err(errors) => {
                            for e in &errors {
                                error!("{e}");
                            }
                            let n = errors.len();
                            let s = if n == 1 { "" } else { "s" };
                            if self.have_config {
                                error!(
                                    "{label}: {n} error{s}; keeping the running configuration until the next good save"
                                );
                            } else {
                                error!(
                                    "{label}: {n} error{s}; no job runs until the file is fixed"
                                );
                            }
                        }
                    }
                }
            }
        }
        self.check_depends(now);
        self.rewatch();
    }

    /// Replaces the job set with `cfg`'s, keeping unchanged jobs as they are.
    fn apply(&mut self, cfg: Config, now: Instant) {
        let users = Users::load();
        let mut old: Vec<Option<Job>> = core::mem::take(&mut self.jobs)
            .into_iter()
            .map(Some)
            .collect();
        let (mut added, mut changed, mut kept) = (0, 0, 0);
        let mut jobs = Vec::with_capacity(cfg.jobs.len());
        let Config {
            jobs: specs,
            report,
            listen,
            ..
        } = cfg;
        for spec in specs {
            let previous = old
                .iter_mut()
                .find(|j| j.as_ref().is_some_and(|j| j.spec.name == spec.name))
                .and_then(Option::take);
            match previous {
                Some(mut job) if job.spec == spec => {
                    kept += 1;
                    // The file changed: UDP overrides and "do not restart
                    // me" (exit 33) end here (SPEC §4, §8).
                    job.override_enabled = None;
                    if job.state == JobState::Done(super::job::DoneReason::Exit33) {
                        job.state = JobState::Down;
                    }
                    // Keep the positions of the new text for messages.
                    job.spec.origin = spec.origin;
                    if job.launch.is_err() {
                        job.launch = self.prepare(&job.spec, &users);
                    }
                    jobs.push(job);
                }
                previous => {
                    if let Some(job) = previous {
                        changed += 1;
                        info!(
                            "job {} changed; restarting it with its new settings",
                            job.spec.name
                        );
                        self.retire(job, now);
                    } else {
                        added += 1;
                    }
                    let launch = self.prepare(&spec, &users);
                    let job = self.new_job(spec, launch);
                    jobs.push(job);
                }
            }
        }
        let mut removed = 0;
        for job in old.into_iter().flatten() {
            removed += 1;
            info!(
                "job {} removed from the configuration; stopping it",
                job.spec.name
            );
            self.retire(job, now);
        }
        self.jobs = jobs;
        let mut order: Vec<usize> = (0..self.jobs.len()).collect();
        // Stable: equal `order` keeps file order (SPEC §3).
        // Ties in `order` keep file order: the index is part of the key.
        order.sort_unstable_by_key(|&i| (self.jobs[i].spec.order, i));
        self.start_order = order;
        self.have_config = true;
        self.configure_net(&report, &listen, now);
        info!(
            "configuration loaded: {} jobs ({added} added, {changed} changed, {removed} removed, {kept} unchanged)",
            self.jobs.len()
        );
    }

    /// Builds a job's launch data; a job that can't be prepared stays down
    /// and the reason is logged with its position.
    fn prepare(&self, spec: &config::JobSpec, users: &Users) -> Result<Launch, String> {
        let label = &self.config_path;
        // A `depends` file that does not exist yet is fine: its appearance
        // counts as a change. One that exists must be trusted as root.
        for dep in &spec.depends {
            let exists = rustix::fs::access(dep.as_str(), rustix::fs::Access::EXISTS).is_ok();
            if let (true, Err(e)) = (exists, config::check_trust(dep)) {
                let msg = format!("{e}");
                error!("job {}: {msg}; the job will not start", spec.name);
                return Err(msg);
            }
        }
        Launch::prepare(spec, users, &self.environ).map_err(|e| {
            let pos = spec.origin.user.unwrap_or(spec.origin.job);
            let msg = format!("{label}:{}:{}: job '{}': {e}", pos.line, pos.col, spec.name);
            error!("{msg}; the job will not start");
            msg
        })
    }
}
