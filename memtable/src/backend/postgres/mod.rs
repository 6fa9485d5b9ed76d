//! PostgreSQL: its dialect, its type table, and its driver on sqlx (the pool, TLS through
//! rustls, statements a transaction-mode pooler can carry, errors, introspection, COPY).

#[cfg(feature = "postgres")]
mod copy;
mod dialect;
#[cfg(feature = "postgres")]
mod errors;
#[cfg(feature = "postgres")]
mod introspect;
#[cfg(feature = "postgres")]
mod types;

pub(crate) use self::dialect::PostgresDialect;
#[cfg(feature = "postgres")]
pub(crate) use self::driver::connect;

#[cfg(feature = "postgres")]
mod driver {
    use sqlx::postgres::{PgArguments, PgConnectOptions, PgConnection, PgRow};

    use super::{copy, errors, introspect, types};
    use crate::backend::ConnectOptions;
    use crate::backend::driver::{BoxFuture, CopySource, Driver, WriteFailure};
    use crate::backend::sqlx::error::from_sqlx;
    use crate::backend::sqlx::pool::Connections;
    use crate::backend::sqlx::{SqlxBackend, SqlxDriver};
    use crate::error::{DatabaseError, Error, Result};
    use crate::schema::{ColumnType, TableSchema};
    use crate::sql::Backend;
    use crate::value::{RowValues, Value};

    /// Prepared statements kept per connection: a few shapes per operation per table.
    const STATEMENT_CACHE: usize = 512;

    /// The URL parameter that says the server is behind a transaction-mode pooler (Prisma's
    /// convention); taken out before sqlx reads the URL, which would refuse it.
    const POOLER_PARAMETER: &str = "pgbouncer";

    /// Connects to `url`. Behind a transaction-mode pooler (`transaction_pooled`, or
    /// `pgbouncer=true` in the URL) statements are unnamed and each runs in a transaction of its
    /// own: see [`autocommit`].
    ///
    /// Read-only (`connect.read_only`): sessions start with `default_transaction_read_only=on`
    /// (a startup parameter, so that even a statement outside any transaction is refused by
    /// the server). A transaction-mode pooler does not pass that parameter on (PgBouncer
    /// refuses unknown startup parameters, and its server connections are shared): there,
    /// every transaction begins `READ ONLY` instead, and every statement runs in one.
    pub(crate) async fn connect(url: &str, connect: &ConnectOptions) -> Result<Box<dyn Driver>> {
        let (url, pooled_by_url) = take_pooler_parameter(url)?;
        let options: PgConnectOptions = url.parse().map_err(from_sqlx)?;
        let pooled = connect.transaction_pooled || pooled_by_url;
        let options = if connect.read_only && !pooled {
            options.options([("default_transaction_read_only", "on")])
        } else {
            options
        };
        let max_connections = connect.max_connections;
        // Behind a pooler a named statement would outlive the server connection it was prepared
        // on; no cache.
        let options = options.statement_cache_capacity(if pooled { 0 } else { STATEMENT_CACHE });
        let connections = Connections::open(
            options,
            max_connections.unwrap_or(10),
            pooled,
            connect.read_only,
        )
        .await?;
        Ok(Box::new(SqlxDriver::<sqlx::postgres::Postgres>::new(
            connections,
        )))
    }

    /// `url` without its `pgbouncer` parameter, and whether that parameter was `true`.
    fn take_pooler_parameter(url: &str) -> Result<(String, bool)> {
        let Some((base, query)) = url.split_once('?') else {
            return Ok((url.to_owned(), false));
        };
        let mut pooled = false;
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            if key != POOLER_PARAMETER {
                kept.push(pair);
                continue;
            }
            pooled = match value {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => {
                    return Err(Error::Connection(crate::error::DatabaseError::new(
                        "the URL parameter pgbouncer must be true or false",
                        None,
                        false,
                    )));
                }
            };
        }
        let url = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        Ok((url, pooled))
    }

    impl SqlxBackend for sqlx::postgres::Postgres {
        const BACKEND: Backend = Backend::Postgres;
        const BEGIN: &'static str = "BEGIN";
        const FAILURE_ABORTS_TRANSACTION: bool = true;
        const BEGIN_READ_ONLY: &'static str = "BEGIN READ ONLY";

        fn decode_into(
            row: &PgRow,
            types: &[ColumnType],
            out: &mut impl RowValues,
        ) -> Result<(), sqlx::Error> {
            types::decode_into(row, types, out)
        }

        fn rows_affected(result: &Self::QueryResult) -> u64 {
            result.rows_affected()
        }

        fn bind(
            types: &[ColumnType],
            values: &mut [Value],
            arrays: bool,
        ) -> Result<PgArguments, sqlx::Error> {
            if arrays {
                types::array_arguments(types, values)
            } else {
                types::arguments(types, values)
            }
        }

        fn classify(
            error: &DatabaseError,
            table: &str,
            schema: Option<&TableSchema>,
        ) -> Option<Error> {
            errors::classify(error, table, schema)
        }

        fn introspect<'a>(
            conn: &'a mut PgConnection,
            table: &'a str,
            persistent: bool,
        ) -> BoxFuture<'a, Result<Option<TableSchema>>> {
            Box::pin(introspect::introspect(conn, table, persistent))
        }

        fn copy_in<'a>(
            conn: &'a mut PgConnection,
            sql: &'a str,
            types: &'a [ColumnType],
            source: CopySource<'a>,
        ) -> BoxFuture<'a, Result<u64, WriteFailure>> {
            Box::pin(copy::copy_in(conn, sql, types, source))
        }
    }

    #[cfg(test)]
    mod tests {
        use super::take_pooler_parameter;

        #[test]
        fn the_pooler_parameter_is_taken_out_of_the_url() {
            let take = |url: &str| take_pooler_parameter(url).ok();
            assert_eq!(
                take("postgres://u@h/db?pgbouncer=true"),
                Some(("postgres://u@h/db".to_owned(), true))
            );
            assert_eq!(
                take("postgres://u@h/db?sslmode=require&pgbouncer=true&application_name=a"),
                Some((
                    "postgres://u@h/db?sslmode=require&application_name=a".to_owned(),
                    true
                ))
            );
            assert_eq!(
                take("postgres://u@h/db?pgbouncer=false"),
                Some(("postgres://u@h/db".to_owned(), false))
            );
            assert_eq!(
                take("postgres://u@h/db"),
                Some(("postgres://u@h/db".to_owned(), false))
            );
            assert!(take("postgres://u@h/db?pgbouncer=maybe").is_none());
        }
    }
}
