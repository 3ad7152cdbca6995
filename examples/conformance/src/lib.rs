//! What every domain built on annals must satisfy, checked over the example domains:
//! `tests/laws.rs` runs the engine's laws (replay, snapshots, convergence of replicas, no
//! head-of-line blocking, exactly-once, save and restore, undo) as property tests, and
//! `tests/golden.rs` loads the stored events of every schema each domain ever wrote, from
//! `examples/<domain>/tests/fixtures/`, and replicas as a browser saved them, from
//! `tests/saved/`. The crate itself holds no code.
