//! Exact-SQL tests of every statement kind on both backends.
