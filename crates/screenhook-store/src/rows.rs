//! The rows both stores write for each aggregate, derived in one place.
//!
//! A stored aggregate is its JSON document (`doc`, the whole truth, what every read decodes)
//! plus the columns that queries filter, join and sort on, copied out of it. Both stores write
//! the same columns from the same values, so the values are derived here, once, from the
//! aggregate: a store only binds a row's fields to its own statements, in its own SQL dialect.
//! Each field is named after its column; a versioned aggregate's `id`, `company_id` and
//! `version` are its [`RowKey`], which also checks a write's version and names its conflicts.
//!
//! Some columns are fixed when the aggregate is created (a session's test, candidate email,
//! creation date, ATS ids); an update rewrites only the others, as each row's docs say.

use screenhook_domain::{
    ApiKey, Company, CompanyTest, CompanyTestSession, DomainEvent, EventId, Expected, LiveInterview, Timestamp, Webhook,
};

use crate::{StoreError, check_version, conflict};

/// The JSON document an aggregate is stored as.
pub fn to_doc(value: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|err| StoreError::InvalidChange(format!("cannot encode: {err}")))
}

/// A row of `companies`, `api_keys` or `webhooks`: found by its id, listed by creation, and
/// rewritten only as a whole document. A company's `company_id` is its own id (its table has
/// no such column); a webhook's row is of the webhook as stored, its secrets sealed (its
/// delivery columns, `state`, failures and probes, belong to the delivery machinery).
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentRow<'a> {
    pub id: &'a str,
    pub company_id: &'a str,
    pub created_at: i64,
    pub doc: String,
}

impl<'a> DocumentRow<'a> {
    pub fn company(company: &'a Company) -> Result<Self, StoreError> {
        DocumentRow::new(company.id.as_str(), company.id.as_str(), company.created_at, company)
    }

    pub fn api_key(key: &'a ApiKey) -> Result<Self, StoreError> {
        DocumentRow::new(&key.public_id, key.company_id.as_str(), key.created_at, key)
    }

    pub fn webhook(sealed: &'a Webhook) -> Result<Self, StoreError> {
        DocumentRow::new(sealed.id.as_str(), sealed.company_id.as_str(), sealed.created_at, sealed)
    }

    fn new(
        id: &'a str,
        company_id: &'a str,
        created_at: Timestamp,
        aggregate: &impl serde::Serialize,
    ) -> Result<Self, StoreError> {
        Ok(DocumentRow { id, company_id, created_at: created_at.as_millis(), doc: to_doc(aggregate)? })
    }
}

/// Which row a versioned aggregate (a test, a session, an interview) is, and the version a
/// write leaves it at: what an update's `WHERE`, the version check and a conflict name.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowKey<'a> {
    pub id: &'a str,
    pub company_id: &'a str,
    pub version: i64,
    /// The aggregate's name in errors ("test session").
    pub aggregate: &'static str,
}

impl<'a> RowKey<'a> {
    fn new(aggregate: &'static str, id: &'a str, company_id: &'a str, version: u64) -> Self {
        RowKey { id, company_id, version: version as i64, aggregate }
    }

    /// The write's version follows the one it expects (see [`check_version`]).
    pub fn check(&self, expected: Expected) -> Result<(), StoreError> {
        check_version(self.aggregate, self.id, self.version as u64, expected)
    }

    /// The store no longer has what the write expected (see [`conflict`]).
    pub fn conflict(&self, expected: Expected) -> StoreError {
        conflict(self.aggregate, self.id, expected)
    }

    /// An update's outcome from the rows it changed: this one row, or none because the
    /// version it expected is no longer the stored one.
    pub fn updated(&self, rows: u64, expected: Expected) -> Result<(), StoreError> {
        if rows == 1 { Ok(()) } else { Err(self.conflict(expected)) }
    }
}

/// A row of `tests`. An update rewrites the version, `title`, `status` and `doc`.
#[derive(Debug, Clone, PartialEq)]
pub struct TestRow<'a> {
    pub key: RowKey<'a>,
    pub title: &'a str,
    pub status: &'static str,
    pub framework_id: Option<&'a str>,
    pub create_date: i64,
    pub doc: String,
}

impl<'a> TestRow<'a> {
    pub fn of(test: &'a CompanyTest) -> Result<Self, StoreError> {
        Ok(TestRow {
            key: RowKey::new("test", test.id.as_str(), test.company_id.as_str(), test.version),
            title: &test.title,
            status: test.status.as_str(),
            framework_id: test.framework_id.as_ref().map(|f| f.as_str()),
            create_date: test.create_date.as_millis(),
            doc: to_doc(test)?,
        })
    }
}

/// A row of `sessions`. An update rewrites the version, `status`, `finish_date`,
/// `verification_status` and `doc`; the rest is fixed at the invitation.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow<'a> {
    pub key: RowKey<'a>,
    pub test_id: &'a str,
    pub status: &'static str,
    pub candidate_email: &'a str,
    pub framework_id: Option<&'a str>,
    pub create_date: i64,
    pub finish_date: Option<i64>,
    pub greenhouse_candidate_id: Option<&'a str>,
    pub greenhouse_application_id: Option<&'a str>,
    pub verification_status: Option<&'static str>,
    pub doc: String,
}

impl<'a> SessionRow<'a> {
    pub fn of(session: &'a CompanyTestSession) -> Result<Self, StoreError> {
        Ok(SessionRow {
            key: RowKey::new("test session", session.id.as_str(), session.company_id.as_str(), session.version),
            test_id: session.test_id.as_str(),
            status: session.status.as_str(),
            candidate_email: &session.candidate.email,
            framework_id: session.framework_id.as_ref().map(|f| f.as_str()),
            create_date: session.create_date.as_millis(),
            finish_date: session.finish_date.map(|t| t.as_millis()),
            greenhouse_candidate_id: session.integrations.greenhouse_candidate_id.as_deref(),
            greenhouse_application_id: session.integrations.greenhouse_application_id.as_deref(),
            verification_status: session.verification_status.map(|v| v.as_str()),
            doc: to_doc(session)?,
        })
    }
}

/// A session's row of `timers`: its next deadline, rewritten with every change of the session
/// (see [`CompanyTestSession::next_deadline`]). `None`: the session needs no timer, and an
/// existing one is deleted.
#[derive(Debug, Clone, PartialEq)]
pub struct TimerRow<'a> {
    pub session_id: &'a str,
    pub company_id: &'a str,
    pub kind: &'static str,
    pub due_at: i64,
}

impl<'a> TimerRow<'a> {
    pub fn of(session: &'a CompanyTestSession) -> Option<Self> {
        let deadline = session.next_deadline()?;
        let (session_id, company_id) = (session.id.as_str(), session.company_id.as_str());
        Some(TimerRow { session_id, company_id, kind: deadline.kind.as_str(), due_at: deadline.due.as_millis() })
    }
}

/// A row of `interviews`. An update rewrites the version and `doc`.
#[derive(Debug, Clone, PartialEq)]
pub struct InterviewRow<'a> {
    pub key: RowKey<'a>,
    pub doc: String,
}

impl<'a> InterviewRow<'a> {
    pub fn of(interview: &'a LiveInterview) -> Result<Self, StoreError> {
        let key =
            RowKey::new("live interview", interview.id.as_str(), interview.company_id.as_str(), interview.version);
        Ok(InterviewRow { key, doc: to_doc(interview)? })
    }
}

/// A row of `events` (the outbox) for a fired event under its new id; the store assigns
/// `seq`, its position.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow<'a> {
    pub id: &'a str,
    pub company_id: &'a str,
    pub session_id: Option<&'a str>,
    pub test_id: Option<&'a str>,
    pub kind: &'static str,
    pub triggered_on: i64,
    pub payload: String,
}

impl<'a> EventRow<'a> {
    pub fn of(id: &'a EventId, event: &'a DomainEvent) -> Self {
        EventRow {
            id: id.as_str(),
            company_id: event.company_id.as_str(),
            session_id: event.session_id.as_ref().map(|s| s.as_str()),
            test_id: event.test_id.as_ref().map(|t| t.as_str()),
            kind: event.kind.name(),
            triggered_on: event.triggered_on.as_millis(),
            payload: event.payload.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use screenhook_domain::{
        EventKind, InterviewId, InterviewerId, Millis, SessionStatus, TestStatus, VerificationStatus,
    };
    use serde_json::json;

    use super::*;
    use crate::conformance::{T0, company, session_of, test_of, webhook};

    fn decoded<T: serde::de::DeserializeOwned>(doc: &str) -> T {
        serde_json::from_str(doc).expect("a row's doc decodes")
    }

    #[test]
    fn a_new_session_row_has_its_invitation_columns_and_no_finish() {
        let test = test_of("acme", "t1");
        let session = session_of(&test, "s1", "jane@example.com");
        let row = SessionRow::of(&session).unwrap();
        assert_eq!((row.key.id, row.key.company_id, row.key.version), ("s1", "acme", 1));
        assert_eq!((row.test_id, row.status, row.candidate_email), ("t1", "pending", "jane@example.com"));
        assert_eq!((row.framework_id, row.create_date), (Some("general-coding"), T0.as_millis()));
        assert_eq!((row.finish_date, row.verification_status), (None, None));
        assert_eq!((row.greenhouse_candidate_id, row.greenhouse_application_id), (None, None));
        assert_eq!(decoded::<CompanyTestSession>(&row.doc), session, "the doc is the whole session");
    }

    #[test]
    fn a_finished_session_row_has_its_finish_verification_and_ats_ids() {
        let test = test_of("acme", "t1");
        let mut session = session_of(&test, "s1", "jane@example.com");
        session.version = 4;
        session.status = SessionStatus::Over;
        session.finish_date = Some(T0.plus(Millis::minutes(30)));
        session.verification_status = Some(VerificationStatus::NotVerified);
        session.integrations.greenhouse_candidate_id = Some("gc-1".into());
        session.integrations.greenhouse_application_id = Some("ga-1".into());
        session.framework_id = None;
        let row = SessionRow::of(&session).unwrap();
        assert_eq!((row.key.version, row.status, row.framework_id), (4, "over", None));
        assert_eq!(row.finish_date, Some(T0.as_millis() + 30 * 60_000));
        assert_eq!(row.verification_status, Some("notVerified"));
        assert_eq!((row.greenhouse_candidate_id, row.greenhouse_application_id), (Some("gc-1"), Some("ga-1")));
    }

    #[test]
    fn a_row_key_checks_the_written_version_and_names_the_aggregate() {
        let test = test_of("acme", "t1");
        let mut session = session_of(&test, "s1", "jane@example.com");
        session.version = 3;
        let key = SessionRow::of(&session).unwrap().key;
        assert!(key.check(Expected::Version(2)).is_ok());
        assert!(matches!(key.check(Expected::Version(3)), Err(StoreError::InvalidChange(_))));
        assert!(matches!(key.check(Expected::New), Err(StoreError::InvalidChange(_))));
        let StoreError::Conflict { aggregate, id, expected } = key.conflict(Expected::Version(2)) else {
            panic!("a conflict")
        };
        assert_eq!((aggregate, id.as_str(), expected.as_str()), ("test session", "s1", "version 2"));
        assert!(key.updated(1, Expected::Version(2)).is_ok());
        assert!(matches!(key.updated(0, Expected::Version(2)), Err(StoreError::Conflict { .. })));
        assert_eq!(TestRow::of(&test).unwrap().key.aggregate, "test");
    }

    #[test]
    fn a_timer_row_is_the_sessions_next_deadline() {
        let test = test_of("acme", "t1");
        let mut session = session_of(&test, "s1", "jane@example.com");
        let expiry = TimerRow::of(&session).expect("a pending session expires");
        let due_at = session.expiration_date.as_millis();
        assert_eq!(expiry, TimerRow { session_id: "s1", company_id: "acme", kind: "expiry", due_at });
        session.status = SessionStatus::Active;
        session.start_date = Some(T0.plus(Millis::minutes(5)));
        let limit = TimerRow::of(&session).expect("an attempt has a time limit");
        assert_eq!((limit.kind, limit.due_at), ("timeLimit", T0.plus(Millis::minutes(75)).as_millis()));
        session.status = SessionStatus::Finalizing;
        assert_eq!(TimerRow::of(&session), None, "the grader, not a clock, ends a finalizing session");
    }

    #[test]
    fn a_test_row_has_its_listed_columns() {
        let mut test = test_of("acme", "t1");
        test.version = 2;
        test.status = TestStatus::Archived;
        let row = TestRow::of(&test).unwrap();
        assert_eq!((row.key.id, row.key.company_id, row.key.version, row.title), ("t1", "acme", 2, "Test t1"));
        assert_eq!((row.status, row.framework_id), ("archived", Some("general-coding")));
        assert_eq!(row.create_date, T0.as_millis());
        assert_eq!(decoded::<CompanyTest>(&row.doc), test);
    }

    #[test]
    fn an_interview_row_is_its_key_and_doc() {
        let session = session_of(&test_of("acme", "t1"), "s1", "jane@example.com");
        let interview = LiveInterview {
            id: InterviewId::parse("i1").unwrap(),
            company_id: session.company_id,
            version: 3,
            candidate: session.candidate,
            interviewer_id: InterviewerId::parse("iv1").unwrap(),
            start_date: Some(T0),
            end_date: None,
            questions_solved: 0,
            questions_attempted: 0,
            feedback: None,
        };
        let row = InterviewRow::of(&interview).unwrap();
        assert_eq!(row.key, RowKey { id: "i1", company_id: "acme", version: 3, aggregate: "live interview" });
        assert_eq!(decoded::<LiveInterview>(&row.doc), interview);
    }

    #[test]
    fn company_api_key_and_webhook_rows_are_id_company_creation_and_doc() {
        let acme = company("acme");
        let row = DocumentRow::company(&acme).unwrap();
        assert_eq!((row.id, row.company_id, row.created_at), ("acme", "acme", T0.as_millis()));
        assert_eq!(decoded::<Company>(&row.doc), acme);

        let key = ApiKey {
            public_id: "pub1".into(),
            company_id: acme.id.clone(),
            secret_sha256: "ab".repeat(32),
            description: "ci".into(),
            permissions: vec![],
            created_at: T0.plus(Millis::minutes(1)),
            revoked_at: None,
        };
        let row = DocumentRow::api_key(&key).unwrap();
        assert_eq!((row.id, row.company_id, row.created_at), ("pub1", "acme", T0.as_millis() + 60_000));
        assert_eq!(decoded::<ApiKey>(&row.doc), key);

        let hook = webhook("acme", "w1", &[EventKind::CompanyTestSessionFinished]);
        let row = DocumentRow::webhook(&hook).unwrap();
        assert_eq!((row.id, row.company_id, row.created_at), ("w1", "acme", hook.created_at.as_millis()));
        assert_eq!(decoded::<Webhook>(&row.doc), hook);
    }

    #[test]
    fn an_event_row_is_the_event_under_its_id_with_its_payload_as_sent() {
        let session = session_of(&test_of("acme", "t1"), "s1", "jane@example.com");
        let event = DomainEvent {
            kind: EventKind::CompanyTestSessionFinished,
            triggered_on: T0,
            company_id: session.company_id,
            session_id: Some(session.id),
            test_id: None,
            payload: json!({ "score": 450, "testSessionId": "s1" }),
        };
        let id = EventId::parse("evt_1").unwrap();
        let row = EventRow::of(&id, &event);
        assert_eq!((row.id, row.company_id, row.session_id, row.test_id), ("evt_1", "acme", Some("s1"), None));
        assert_eq!((row.kind, row.triggered_on), ("companyTestSessionFinished", T0.as_millis()));
        assert_eq!(row.payload, r#"{"score":450,"testSessionId":"s1"}"#);
    }
}
