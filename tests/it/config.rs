//! `pmtr -t` on valid and invalid files (SPEC §1–2).
