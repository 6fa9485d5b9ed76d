//! Benchmarks of memtable; see `compare.rs` (`cargo bench -p memtable-bench`).
