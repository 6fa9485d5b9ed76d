//! Runnable examples of memtable; see the `[[example]]` targets of this package.
