//! The embedded schema migrations, applied in order at open.
//!
//! The schema version is SQLite's `user_version`, written in the same transaction as the
//! migration it records, so a crash leaves either both or neither.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

/// Every migration, in order; the schema version after `MIGRATIONS[i]` is `i + 1`.
const MIGRATIONS: &[(&str, &str)] = &[
    ("lifecycle", include_str!("../migrations/0001_lifecycle.sql")),
    ("delivery", include_str!("../migrations/0002_delivery.sql")),
    ("console reads", include_str!("../migrations/0003_console_reads.sql")),
    ("certify imports", include_str!("../migrations/0004_certify.sql")),
];

pub(crate) fn run(conn: &mut Connection) -> Result<(), String> {
    let sql = |err: rusqlite::Error| err.to_string();
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0)).map_err(sql)?;
    let mut version = version.max(0) as usize;
    if version == 0 {
        version = adopt_earlier_bookkeeping(conn).map_err(sql)?;
    }
    if version > MIGRATIONS.len() {
        return Err(format!(
            "the database is at schema version {version}, newer than this build knows ({}); use a newer screenhook",
            MIGRATIONS.len()
        ));
    }
    for (index, (name, migration)) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql)?;
        tx.execute_batch(migration).map_err(|err| format!("migration {} ({name}): {err}", index + 1))?;
        tx.pragma_update(None, "user_version", (index + 1) as i64).map_err(sql)?;
        tx.commit().map_err(sql)?;
    }
    Ok(())
}

/// Databases created before the schema version lived in `user_version` kept their migrations
/// in a `_sqlx_migrations` table: their version is the last migration recorded there.
fn adopt_earlier_bookkeeping(conn: &Connection) -> Result<usize, rusqlite::Error> {
    let table: Option<String> = conn
        .query_row("SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'", [], |row| {
            row.get(0)
        })
        .optional()?;
    if table.is_none() {
        return Ok(0);
    }
    let version: Option<i64> =
        conn.query_row("SELECT MAX(version) FROM _sqlx_migrations WHERE success", [], |row| row.get(0))?;
    let version = version.unwrap_or(0).max(0);
    conn.pragma_update(None, "user_version", version)?;
    Ok(version as usize)
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::{MIGRATIONS, run};

    fn version(conn: &Connection) -> i64 {
        conn.pragma_query_value(None, "user_version", |row| row.get(0)).unwrap()
    }

    #[test]
    fn a_fresh_database_gets_every_migration_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        run(&mut conn).unwrap();
        assert_eq!(version(&conn), MIGRATIONS.len() as i64);
        // Running again finds nothing to do (the tables would already exist otherwise).
        run(&mut conn).unwrap();
        assert_eq!(version(&conn), MIGRATIONS.len() as i64);
    }

    #[test]
    fn a_database_migrated_by_an_earlier_build_is_not_migrated_again() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0].1).unwrap();
        conn.execute_batch(
            "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
             installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, \
             checksum BLOB NOT NULL, execution_time BIGINT NOT NULL); \
             INSERT INTO _sqlx_migrations VALUES (1, 'lifecycle', CURRENT_TIMESTAMP, TRUE, x'00', 1);",
        )
        .unwrap();
        run(&mut conn).unwrap();
        assert_eq!(version(&conn), MIGRATIONS.len() as i64, "only the later migrations ran");
        conn.query_row("SELECT COUNT(*) FROM deliveries", [], |row| row.get::<_, i64>(0)).unwrap();
    }

    #[test]
    fn sessions_written_before_the_console_get_their_verification_status_from_the_document() {
        let mut conn = Connection::open_in_memory().unwrap();
        for (_, migration) in &MIGRATIONS[..2] {
            conn.execute_batch(migration).unwrap();
        }
        conn.pragma_update(None, "user_version", 2).unwrap();
        for (id, verification) in [("s1", r#""notVerified""#), ("s2", "null"), ("s3", r#""pending""#)] {
            conn.execute(
                "INSERT INTO sessions (id, company_id, test_id, version, status, candidate_email, create_date, doc) \
                 VALUES (?1, 'acme', 't', 1, 'over', 'a@example.com', 0, ?2)",
                [id, &format!(r#"{{"id":"{id}","verification_status":{verification}}}"#)],
            )
            .unwrap();
        }
        run(&mut conn).unwrap();
        let backfilled: Vec<(String, Option<String>)> = conn
            .prepare("SELECT id, verification_status FROM sessions ORDER BY id")
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let expected = [("s1", Some("notVerified")), ("s2", None), ("s3", Some("pending"))];
        assert_eq!(backfilled, expected.map(|(id, v)| (id.to_owned(), v.map(str::to_owned))));
    }

    #[test]
    fn a_database_from_a_newer_build_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        let err = run(&mut conn).unwrap_err();
        assert!(err.contains("schema version 99"), "{err}");
    }
}
