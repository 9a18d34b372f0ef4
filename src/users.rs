//! Reading /etc/passwd and /etc/group ourselves: the binary is static (SPEC §3).
