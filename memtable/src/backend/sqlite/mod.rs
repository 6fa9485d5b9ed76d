//! SQLite: its dialect, its errors, introspection, and its driver.

mod dialect;
#[cfg(feature = "sqlite")]
mod errors;
#[cfg(feature = "sqlite")]
mod introspect;
#[cfg(feature = "sqlite")]
mod sqlx_driver;

pub(crate) use self::dialect::SqliteDialect;
#[cfg(feature = "sqlite")]
pub(crate) use self::sqlx_driver::connect;
