//! Pre-Screen (`CompanyTest`) commands and their decision.
//!
//! Every accepted change fires one `assessmentCreated` / `assessmentUpdated` carrying the new
//! `assessmentStatus`. A Certified Evaluation's framework is fixed at creation: it fixes the
//! duration, and no edit can change it (as at CodeSignal). Deleted is terminal. An edit that
//! changes nothing is accepted and writes nothing (an empty [`Change`]).

use crate::{
    change::{Change, Expected},
    error::DomainError,
    event::{DomainEvent, EventKind},
    framework,
    ids::{CompanyId, FrameworkId, TestId},
    model::{CompanyTest, TestStatus},
    payload,
    time::{Millis, Timestamp},
    validate,
};

/// `createCompanyTest`: a custom Pre-Screen.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTest {
    pub id: TestId,
    pub company_id: CompanyId,
    pub title: String,
    pub external_title: String,
    pub internal_description: Option<String>,
    pub proctored: bool,
    /// 1 minute – 24 hours.
    pub duration: Millis,
    /// 1 day – 6 months; 14 days when absent.
    pub default_expiration: Option<Millis>,
    pub labels: Vec<String>,
}

/// `createCompanyTestFromFramework`: a Certified Evaluation. The framework fixes the duration;
/// several Pre-Screens may use the same framework.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFrameworkTest {
    pub id: TestId,
    pub company_id: CompanyId,
    pub framework_id: FrameworkId,
    pub title: String,
    pub external_title: String,
    pub internal_description: Option<String>,
    pub proctored: bool,
    pub default_expiration: Option<Millis>,
    /// Maximum age of a re-shared result; `None` = no limit.
    pub result_date_limit: Option<Millis>,
    pub labels: Vec<String>,
}

/// `editCompanyTest`: `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TestEdit {
    pub title: Option<String>,
    pub external_title: Option<String>,
    /// `Some(None)` clears the description.
    pub internal_description: Option<Option<String>>,
    pub labels: Option<Vec<String>>,
    pub proctored: Option<bool>,
    pub default_expiration: Option<Millis>,
    /// `Some(None)` removes the limit. Certified Evaluations only.
    pub result_date_limit: Option<Option<Millis>>,
    /// Only so that an API passing a framework gets a clear refusal: any value other than the
    /// test's own framework is an error.
    pub framework_id: Option<FrameworkId>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TestCommand {
    Create(NewTest),
    CreateFromFramework(NewFrameworkTest),
    Edit(TestEdit),
    Archive,
    Unarchive,
    Delete,
}

impl TestCommand {
    pub fn name(&self) -> &'static str {
        match self {
            TestCommand::Create(_) => "createCompanyTest",
            TestCommand::CreateFromFramework(_) => "createCompanyTestFromFramework",
            TestCommand::Edit(_) => "editCompanyTest",
            TestCommand::Archive => "archiveCompanyTest",
            TestCommand::Unarchive => "unarchiveCompanyTest",
            TestCommand::Delete => "deleteCompanyTest",
        }
    }
}

fn event(kind: EventKind, test: &CompanyTest, now: Timestamp) -> DomainEvent {
    DomainEvent {
        kind,
        triggered_on: now,
        company_id: test.company_id.clone(),
        session_id: None,
        test_id: Some(test.id.clone()),
        payload: payload::assessment(test),
    }
}

fn created(test: CompanyTest, now: Timestamp) -> Change {
    let ev = event(EventKind::AssessmentCreated, &test, now);
    Change { tests: vec![(test, Expected::New)], events: vec![ev], ..Change::default() }
}

fn updated(old: &CompanyTest, mut test: CompanyTest, now: Timestamp) -> Change {
    test.version = old.version + 1;
    test.update_date = now;
    let ev = event(EventKind::AssessmentUpdated, &test, now);
    Change { tests: vec![(test, Expected::Version(old.version))], events: vec![ev], ..Change::default() }
}

fn description(value: Option<&str>) -> Result<Option<String>, DomainError> {
    match value {
        None => Ok(None),
        Some(d) if d.trim().is_empty() => Ok(None),
        Some(d) if d.chars().count() > 5_000 => Err(DomainError::invalid(
            "internalDescription",
            format!("is {} characters long", d.chars().count()),
            "at most 5000 characters",
        )),
        Some(d) => Ok(Some(d.to_owned())),
    }
}

/// Decides a Pre-Screen command. `state` is the stored test (None for creations).
pub fn decide(state: Option<&CompanyTest>, cmd: TestCommand, now: Timestamp) -> Result<Change, DomainError> {
    let name = cmd.name();
    let illegal =
        |t: &CompanyTest| DomainError::IllegalTransition { aggregate: "test", from: t.status.as_str(), command: name };
    let with_status = |t: &CompanyTest, status| updated(t, CompanyTest { status, ..t.clone() }, now);
    match (state, cmd) {
        (Some(_), TestCommand::Create(_) | TestCommand::CreateFromFramework(_)) => {
            Err(DomainError::AlreadyExists { aggregate: "test", command: name })
        }
        (None, TestCommand::Create(new)) => Ok(created(custom_test(new, now)?, now)),
        (None, TestCommand::CreateFromFramework(new)) => Ok(created(framework_test(new, now)?, now)),
        (None, _) => Err(DomainError::NotFound { aggregate: "test", command: name }),
        (Some(t), _) if t.status == TestStatus::Deleted => Err(illegal(t)),
        (Some(t), TestCommand::Edit(edit)) => {
            let next = edited(t, edit)?;
            if next == *t {
                return Ok(Change::default());
            }
            Ok(updated(t, next, now))
        }
        (Some(t), TestCommand::Archive) if t.status == TestStatus::Active => Ok(with_status(t, TestStatus::Archived)),
        (Some(t), TestCommand::Unarchive) if t.status == TestStatus::Archived => Ok(with_status(t, TestStatus::Active)),
        (Some(t), TestCommand::Delete) => Ok(with_status(t, TestStatus::Deleted)),
        (Some(t), TestCommand::Archive | TestCommand::Unarchive) => Err(illegal(t)),
    }
}

/// A custom Pre-Screen: every field validated, and the first refusal is the answer.
fn custom_test(new: NewTest, now: Timestamp) -> Result<CompanyTest, DomainError> {
    Ok(CompanyTest {
        id: new.id,
        company_id: new.company_id,
        version: 1,
        title: validate::text("title", &new.title, true)?,
        external_title: validate::text("externalTitle", &new.external_title, true)?,
        internal_description: description(new.internal_description.as_deref())?,
        framework_id: None,
        proctored: new.proctored,
        duration: validate::duration("duration", new.duration)?,
        default_expiration: default_expiration(new.default_expiration)?,
        result_date_limit: None,
        labels: validate::labels(&new.labels)?,
        status: TestStatus::Active,
        create_date: now,
        update_date: now,
    })
}

/// A Certified Evaluation: the framework must be in the catalogue, and fixes the duration.
fn framework_test(new: NewFrameworkTest, now: Timestamp) -> Result<CompanyTest, DomainError> {
    let Some(fw) = framework::framework(&new.framework_id) else {
        let known: Vec<&str> = framework::catalogue().iter().map(|f| f.id).collect();
        return Err(DomainError::invalid(
            "frameworkId",
            format!("{:?} is not a known framework", new.framework_id.as_str()),
            format!("one of {}", known.join(", ")),
        ));
    };
    Ok(CompanyTest {
        id: new.id,
        company_id: new.company_id,
        version: 1,
        title: validate::text("title", &new.title, true)?,
        external_title: validate::text("externalTitle", &new.external_title, true)?,
        internal_description: description(new.internal_description.as_deref())?,
        framework_id: Some(new.framework_id),
        proctored: new.proctored,
        duration: fw.duration,
        default_expiration: default_expiration(new.default_expiration)?,
        result_date_limit: validate::result_date_limit(new.result_date_limit)?,
        labels: validate::labels(&new.labels)?,
        status: TestStatus::Active,
        create_date: now,
        update_date: now,
    })
}

fn default_expiration(value: Option<Millis>) -> Result<Millis, DomainError> {
    match value {
        Some(e) => validate::expiration("defaultExpiration", e),
        None => Ok(validate::DEFAULT_EXPIRATION),
    }
}

/// `t` with the edit's fields applied, each validated; the framework never changes.
fn edited(t: &CompanyTest, edit: TestEdit) -> Result<CompanyTest, DomainError> {
    if let Some(fw) = edit.framework_id
        && t.framework_id.as_ref() != Some(&fw)
    {
        return Err(DomainError::invalid(
            "frameworkId",
            "the framework of a Pre-Screen cannot change after creation",
            "the test's own framework, or none; create a new Pre-Screen to use another framework",
        ));
    }
    let mut next = t.clone();
    if let Some(v) = edit.title {
        next.title = validate::text("title", &v, true)?;
    }
    if let Some(v) = edit.external_title {
        next.external_title = validate::text("externalTitle", &v, true)?;
    }
    if let Some(v) = edit.internal_description {
        next.internal_description = description(v.as_deref())?;
    }
    if let Some(v) = edit.labels {
        next.labels = validate::labels(&v)?;
    }
    if let Some(v) = edit.proctored {
        next.proctored = v;
    }
    if let Some(v) = edit.default_expiration {
        next.default_expiration = validate::expiration("defaultExpiration", v)?;
    }
    if let Some(v) = edit.result_date_limit {
        if !t.is_certified_evaluation() {
            return Err(DomainError::invalid(
                "resultDateLimit",
                "applies only to Pre-Screens built from a framework",
                "no value for custom Pre-Screens",
            ));
        }
        next.result_date_limit = validate::result_date_limit(v)?;
    }
    Ok(next)
}
