//! Companies, API keys and lifecycle changes (`apply`): aggregates with their version checks,
//! timers, and the outbox.

use screenhook_domain::{ApiKey, Company, CompanyId, CompanyTest, DomainEvent, Expected, LiveInterview, Timestamp};
use screenhook_store::{
    CertifyImported, CertifyRecord, SecretKeys, StoreError, StoredEvent, new_event_id,
    rows::{DocumentRow, EventRow, InterviewRow, RowKey, TestRow, to_doc},
};
use sqlx::{PgConnection, PgPool, Row};

use crate::{OUTBOX_LOCK, db, group};

pub(crate) async fn insert_company(pool: &PgPool, company: &Company) -> Result<(), StoreError> {
    let row = DocumentRow::company(company)?;
    let res = sqlx::query("INSERT INTO companies (id, created_at, doc) VALUES ($1, $2, $3)")
        .bind(row.id)
        .bind(row.created_at)
        .bind(row.doc)
        .execute(pool)
        .await;
    match res {
        Err(sqlx::Error::Database(err)) if err.is_unique_violation() => {
            Err(StoreError::Duplicate { what: format!("company {}", company.id) })
        }
        other => other.map(drop).map_err(db),
    }
}

pub(crate) async fn update_company(pool: &PgPool, company: &Company) -> Result<(), StoreError> {
    let row = DocumentRow::company(company)?;
    let res = sqlx::query("UPDATE companies SET doc = $2 WHERE id = $1")
        .bind(row.id)
        .bind(row.doc)
        .execute(pool)
        .await
        .map_err(db)?;
    if res.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict {
            aggregate: "company",
            id: company.id.to_string(),
            expected: "an existing company".into(),
        })
    }
}

pub(crate) async fn insert_api_key(pool: &PgPool, key: &ApiKey) -> Result<(), StoreError> {
    let row = DocumentRow::api_key(key)?;
    let res = sqlx::query("INSERT INTO api_keys (public_id, company_id, created_at, doc) VALUES ($1, $2, $3, $4)")
        .bind(row.id)
        .bind(row.company_id)
        .bind(row.created_at)
        .bind(row.doc)
        .execute(pool)
        .await;
    match res {
        Err(sqlx::Error::Database(err)) if err.is_unique_violation() => {
            Err(StoreError::Duplicate { what: format!("API key {}", key.public_id) })
        }
        other => other.map(drop).map_err(db),
    }
}

pub(crate) async fn revoke_api_key(
    conn: &mut PgConnection,
    company: &CompanyId,
    public_id: &str,
    at: Timestamp,
) -> Result<bool, StoreError> {
    // Locked, so two concurrent revocations cannot both report success.
    let doc: Option<String> =
        sqlx::query_scalar("SELECT doc FROM api_keys WHERE public_id = $1 AND company_id = $2 FOR UPDATE")
            .bind(public_id)
            .bind(company.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
    let Some(doc) = doc else { return Ok(false) };
    let mut key: ApiKey = serde_json::from_str(&doc).map_err(|err| StoreError::Corrupt(err.to_string()))?;
    if key.revoked_at.is_some() {
        return Ok(false);
    }
    key.revoked_at = Some(at);
    let row = DocumentRow::api_key(&key)?;
    sqlx::query("UPDATE api_keys SET doc = $2 WHERE public_id = $1")
        .bind(row.id)
        .bind(row.doc)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    Ok(true)
}

/// Inserts the events in firing order, under the outbox lock held shared to commit, and returns
/// them with their outbox positions.
pub(crate) async fn insert_events(
    conn: &mut PgConnection,
    events: &[DomainEvent],
) -> Result<Vec<StoredEvent>, StoreError> {
    let mut stored = Vec::with_capacity(events.len());
    let (mut ids, mut companies, mut sessions, mut tests, mut kinds, mut times, mut payloads) =
        (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    for event in events {
        let id = new_event_id();
        let row = EventRow::of(&id, event);
        ids.push(row.id.to_owned());
        companies.push(row.company_id.to_owned());
        sessions.push(row.session_id.map(str::to_owned));
        tests.push(row.test_id.map(str::to_owned));
        kinds.push(row.kind);
        times.push(row.triggered_on);
        payloads.push(row.payload);
        stored.push(StoredEvent::unpositioned(id, event));
    }
    // Rows are inserted in ordinality order, so positions follow the firing order. The outbox
    // lock is taken shared by the same statement (see the crate docs): the join yields no row,
    // so no row draws its position, before the lock is held.
    let rows = sqlx::query(
        "INSERT INTO events (id, company_id, session_id, test_id, kind, triggered_on, payload) \
         SELECT id, company_id, session_id, test_id, kind, triggered_on, payload \
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int8[], $7::text[]) \
              WITH ORDINALITY AS v(id, company_id, session_id, test_id, kind, triggered_on, payload, n), \
              (SELECT pg_advisory_xact_lock_shared($8)) AS outbox \
         ORDER BY n RETURNING seq, id",
    )
    .bind(ids)
    .bind(companies)
    .bind(sessions)
    .bind(tests)
    .bind(kinds)
    .bind(times)
    .bind(payloads)
    .bind(OUTBOX_LOCK)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    for row in rows {
        let id: &str = row.try_get("id").map_err(db)?;
        let seq: i64 = row.try_get("seq").map_err(db)?;
        if let Some(event) = stored.iter_mut().find(|e| e.id.as_str() == id) {
            event.seq = seq;
        }
    }
    if stored.iter().any(|e| e.seq == 0) {
        return Err(StoreError::Unavailable("an event got no outbox position".into()));
    }
    Ok(stored)
}

/// Maps a failed INSERT: a taken primary key means the aggregate already exists.
fn insert_error(err: sqlx::Error, key: &RowKey<'_>) -> StoreError {
    match err {
        sqlx::Error::Database(ref e) if e.is_unique_violation() => key.conflict(Expected::New),
        other => db(other),
    }
}

pub(crate) async fn write_test(
    conn: &mut PgConnection,
    test: &CompanyTest,
    expected: Expected,
) -> Result<(), StoreError> {
    let row = TestRow::of(test)?;
    let key = row.key;
    key.check(expected)?;
    match expected {
        Expected::New => sqlx::query(
            "INSERT INTO tests (id, company_id, version, title, status, framework_id, create_date, doc) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(key.id)
        .bind(key.company_id)
        .bind(key.version)
        .bind(row.title)
        .bind(row.status)
        .bind(row.framework_id)
        .bind(row.create_date)
        .bind(row.doc)
        .execute(&mut *conn)
        .await
        .map(drop)
        .map_err(|err| insert_error(err, &key)),
        Expected::Version(old) => {
            let res = sqlx::query(
                "UPDATE tests SET version = $3, title = $4, status = $5, doc = $6 \
                 WHERE id = $1 AND company_id = $2 AND version = $7",
            )
            .bind(key.id)
            .bind(key.company_id)
            .bind(key.version)
            .bind(row.title)
            .bind(row.status)
            .bind(row.doc)
            .bind(old as i64)
            .execute(&mut *conn)
            .await
            .map_err(db)?;
            key.updated(res.rows_affected(), expected)
        }
    }
}

pub(crate) async fn write_interview(
    conn: &mut PgConnection,
    interview: &LiveInterview,
    expected: Expected,
) -> Result<(), StoreError> {
    let InterviewRow { key, doc } = InterviewRow::of(interview)?;
    key.check(expected)?;
    match expected {
        Expected::New => sqlx::query("INSERT INTO interviews (id, company_id, version, doc) VALUES ($1, $2, $3, $4)")
            .bind(key.id)
            .bind(key.company_id)
            .bind(key.version)
            .bind(doc)
            .execute(&mut *conn)
            .await
            .map(drop)
            .map_err(|err| insert_error(err, &key)),
        Expected::Version(old) => {
            let res = sqlx::query(
                "UPDATE interviews SET version = $3, doc = $4 WHERE id = $1 AND company_id = $2 AND version = $5",
            )
            .bind(key.id)
            .bind(key.company_id)
            .bind(key.version)
            .bind(doc)
            .bind(old as i64)
            .execute(&mut *conn)
            .await
            .map_err(db)?;
            key.updated(res.rows_affected(), expected)
        }
    }
}

/// Writes Certify records in the caller's transaction, each in its own savepoint (see
/// `Store::import_certify`). A conflict with a concurrent transaction (deadlock) fails the
/// whole transaction, which the caller runs again.
pub(crate) async fn import_certify(
    conn: &mut PgConnection,
    records: &[CertifyRecord],
) -> Result<Vec<Result<CertifyImported, StoreError>>, StoreError> {
    let mut outcomes = Vec::with_capacity(records.len());
    for record in records {
        let change = match record.as_change() {
            Ok(change) => change,
            Err(err) => {
                outcomes.push(Err(err));
                continue;
            }
        };
        let company = record.company().expect("a record with a change has a company");
        let (kind, old_id, new_id) = record.id_entry();
        sqlx::query("SAVEPOINT record").execute(&mut *conn).await.map_err(db)?;
        let inserted = sqlx::query(
            "INSERT INTO certify_ids (company_id, kind, old_id, new_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(company.as_str())
        .bind(kind)
        .bind(old_id)
        .bind(new_id)
        .execute(&mut *conn)
        .await
        .map_err(db)?
        .rows_affected();
        let outcome = if inserted == 0 {
            let existing: String = sqlx::query_scalar(
                "SELECT new_id FROM certify_ids WHERE company_id = $1 AND kind = $2 AND old_id = $3",
            )
            .bind(company.as_str())
            .bind(kind)
            .bind(old_id)
            .fetch_one(&mut *conn)
            .await
            .map_err(db)?;
            record.existed(existing)
        } else {
            // An import fires no events, so it queues nothing to lease.
            match group::apply_all(conn, &[&change], None).await {
                Ok(_) => Ok(CertifyImported::Written),
                Err(err @ StoreError::Conflict { aggregate: crate::RETRYABLE, .. }) => return Err(err),
                Err(err @ (StoreError::Conflict { .. } | StoreError::InvalidChange(_))) => Err(err),
                Err(other) => return Err(other),
            }
        };
        let close = if outcome.is_ok() { "RELEASE SAVEPOINT record" } else { "ROLLBACK TO SAVEPOINT record" };
        sqlx::query(close).execute(&mut *conn).await.map_err(db)?;
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// Seals the tokens of these sessions under the current key, checked again under each row's
/// lock, so a session written since the scan is left as it now is. The version stays: the
/// session did not change, only how its tokens are kept.
pub(crate) async fn reseal_sessions(
    conn: &mut PgConnection,
    keys: &SecretKeys,
    ids: &[String],
) -> Result<u64, StoreError> {
    let rows = sqlx::query("SELECT id, doc FROM sessions WHERE id = ANY($1) ORDER BY id FOR UPDATE")
        .bind(ids)
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
    let mut resealed = 0;
    for row in rows {
        let (id, doc): (String, String) = (row.try_get("id").map_err(db)?, row.try_get("doc").map_err(db)?);
        let stored =
            serde_json::from_str(&doc).map_err(|err| StoreError::Corrupt(format!("test session {id}: {err}")))?;
        if let Some(session) = keys.reseal_session(stored)? {
            sqlx::query("UPDATE sessions SET doc = $2 WHERE id = $1")
                .bind(&id)
                .bind(to_doc(&session)?)
                .execute(&mut *conn)
                .await
                .map_err(db)?;
            resealed += 1;
        }
    }
    Ok(resealed)
}
