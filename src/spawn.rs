//! Starting a job: argv/envp built at load, async-signal-safe child setup.
