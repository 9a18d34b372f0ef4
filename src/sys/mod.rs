//! What rustix leaves out on purpose: fork, execve, sigprocmask, sigaction, signalfd.
