//! The Certify export: JSON Lines, one object per line, read and validated into typed lines.
//!
//! ```text
//! {"kind":"standardizedTest","id":"…","title":"…","type":"certification"|"practice","frameworkId":"general-coding"|…,"proctored":true|false}
//! {"kind":"certificationRequest","id":"…","testId":"…","candidateName":"…","candidateEmail":"…",
//!  "externalId":"…"?,"createDate":ms,"expirationDate":ms?,"lastStatus":"pending"|"testStarted"|"testTaken"|"shared"|"rejected"|"expired",
//!  "customDuration":ms?,"integrations":{"greenhouseCandidateId"?,"greenhouseApplicationId"?,"leverOpportunityId"?,"smartRecruitersOrderId"?}?,
//!  "results":[{"testSessionId":"…","startDate":ms,"finishDate":ms,"codingScore":0|300..850,"score":n,"maxScore":n,
//!              "certificationStatus":"certified"|"pending"|"rejected","rejectedReasons":[{"name","description"}]?,"proctored":bool}]}
//! ```
//!
//! Fields marked `?` may be absent or `null`; every other field is required. Unknown fields are
//! ignored. [`parse_line`] either returns the whole line, checked, or a [`LineError`] naming
//! the line, the field (a path such as `results[1].codingScore`) and what is allowed — so
//! nothing of a bad line is ever written. `docs/CERTIFY.md` is the user-facing description.

use std::fmt;

use serde_json::{Map, Value};

use super::score::CertifyCodingScore;
use crate::{
    error::DomainError,
    framework,
    ids::{CertificationRequestId, CertifyTestSessionId, FrameworkId, IdError, StandardizedTestId},
    model::{Integrations, RejectionReason},
    time::{Millis, Timestamp},
    validate,
};

/// The most results one request may carry. Each becomes a session of the request's chain
/// (see [`super::import`]), and real requests hold one or a few.
pub const MAX_RESULTS: usize = 32;
/// The prefix of a migrated test's title.
pub const MIGRATED_PREFIX: &str = "[Migrated] ";
/// The longest Certify title: the migrated title must fit the product's title limit.
pub const MAX_TITLE: usize = validate::MAX_TEXT - MIGRATED_PREFIX.len();
/// ATS ids are at most this many characters.
pub const MAX_ATS_ID: usize = 256;

const ID_ALLOWED: &str = "1–64 letters, digits, '-' or '_'";
const MS_ALLOWED: &str = "an integer number of milliseconds since the Unix epoch";

/// One line of the export.
#[derive(Debug, Clone, PartialEq)]
pub enum ExportLine {
    StandardizedTest(StandardizedTest),
    CertificationRequest(Box<CertificationRequest>),
}

/// A Certify test's `type`: only certification tests had certification requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestType {
    Certification,
    Practice,
}

/// `{"kind":"standardizedTest", …}`.
#[derive(Debug, Clone, PartialEq)]
pub struct StandardizedTest {
    pub id: StandardizedTestId,
    /// Trimmed, 1–[`MAX_TITLE`] characters.
    pub title: String,
    pub test_type: TestType,
    /// A framework of the catalogue.
    pub framework_id: FrameworkId,
    pub proctored: bool,
}

/// Certify's `CertificationRequestStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LastStatus {
    Pending,
    TestStarted,
    TestTaken,
    Shared,
    Rejected,
    Expired,
}

impl LastStatus {
    pub const NAMES: [&'static str; 6] = ["pending", "testStarted", "testTaken", "shared", "rejected", "expired"];
    const ALL: [LastStatus; 6] = [
        LastStatus::Pending,
        LastStatus::TestStarted,
        LastStatus::TestTaken,
        LastStatus::Shared,
        LastStatus::Rejected,
        LastStatus::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LastStatus::Pending => "pending",
            LastStatus::TestStarted => "testStarted",
            LastStatus::TestTaken => "testTaken",
            LastStatus::Shared => "shared",
            LastStatus::Rejected => "rejected",
            LastStatus::Expired => "expired",
        }
    }
}

/// A result's `certificationStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertificationStatus {
    Certified,
    Pending,
    Rejected,
}

/// `{"kind":"certificationRequest", …}`.
#[derive(Debug, Clone, PartialEq)]
pub struct CertificationRequest {
    pub id: CertificationRequestId,
    pub test_id: StandardizedTestId,
    /// Trimmed, not empty.
    pub candidate_name: String,
    /// Validated and lower-cased.
    pub candidate_email: String,
    pub external_id: Option<String>,
    pub create_date: Timestamp,
    /// Not before `create_date`.
    pub expiration_date: Option<Timestamp>,
    pub last_status: LastStatus,
    /// 1 minute – 24 hours.
    pub custom_duration: Option<Millis>,
    pub integrations: Integrations,
    /// At most [`MAX_RESULTS`], in export order.
    pub results: Vec<ExportResult>,
}

/// One entry of a request's `results`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportResult {
    pub test_session_id: CertifyTestSessionId,
    pub start_date: Timestamp,
    /// Not before `start_date`.
    pub finish_date: Timestamp,
    pub coding_score: CertifyCodingScore,
    /// At most `max_score`.
    pub score: u32,
    /// Positive.
    pub max_score: u32,
    pub certification_status: CertificationStatus,
    /// Only on rejected results.
    pub rejected_reasons: Vec<RejectionReason>,
    pub proctored: bool,
}

/// Why a line was refused: where, which field, what is wrong, and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number in the file.
    pub line: u64,
    /// The field, as a path into the line's object (`results[0].codingScore`); `None` when the
    /// line as a whole is wrong (not JSON, not an object, too long).
    pub field: Option<String>,
    pub problem: String,
    pub allowed: String,
}

impl LineError {
    pub fn new(line: u64, field: Option<String>, problem: impl Into<String>, allowed: impl Into<String>) -> Self {
        LineError { line, field, problem: problem.into(), allowed: allowed.into() }
    }
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "line {}: {field}: {} (allowed: {})", self.line, self.problem, self.allowed),
            None => write!(f, "line {}: {} (allowed: {})", self.line, self.problem, self.allowed),
        }
    }
}

impl std::error::Error for LineError {}

/// The two kinds of line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    StandardizedTest,
    CertificationRequest,
}

/// The kind a line says it is and how many results it holds, read leniently: where a line
/// [`parse_line`] refused counts in a report.
pub fn line_kind(text: &str) -> Option<(LineKind, usize)> {
    #[derive(serde::Deserialize)]
    struct Shape<'a> {
        #[serde(borrow)]
        kind: std::borrow::Cow<'a, str>,
        #[serde(default)]
        results: Option<Vec<serde::de::IgnoredAny>>,
    }
    let shape = serde_json::from_str::<Shape<'_>>(text).ok()?;
    let results = shape.results.map_or(0, |r| r.len());
    match shape.kind.as_ref() {
        "standardizedTest" => Some((LineKind::StandardizedTest, 0)),
        "certificationRequest" => Some((LineKind::CertificationRequest, results)),
        _ => None,
    }
}

/// Parses and checks one line (without its line break). `line` is its 1-based number.
pub fn parse_line(line: u64, text: &str) -> Result<ExportLine, LineError> {
    let whole = |problem: String| LineError::new(line, None, problem, "one JSON object per line");
    let value: Value = serde_json::from_str(text).map_err(|err| whole(format!("is not valid JSON: {err}")))?;
    let Value::Object(map) = value else {
        return Err(whole(format!("is a JSON {}, not an object", kind_of(&value))));
    };
    let obj = Obj { map: &map, path: String::new(), line };
    match obj.string("kind")?.as_str() {
        "standardizedTest" => Ok(ExportLine::StandardizedTest(standardized_test(&obj)?)),
        "certificationRequest" => Ok(ExportLine::CertificationRequest(Box::new(certification_request(&obj)?))),
        other => Err(obj.error(
            "kind",
            format!("{other:?} is not a kind of line"),
            "standardizedTest or certificationRequest",
        )),
    }
}

fn standardized_test(obj: &Obj<'_>) -> Result<StandardizedTest, LineError> {
    let id = obj.id("id", StandardizedTestId::parse)?;
    let title = obj.string("title")?.trim().to_owned();
    let title_len = title.chars().count();
    if title.is_empty() || title_len > MAX_TITLE {
        let problem =
            if title.is_empty() { "must not be empty".to_owned() } else { format!("is {title_len} characters long") };
        return Err(obj.error(
            "title",
            problem,
            format!("1–{MAX_TITLE} characters (the migrated title adds {MIGRATED_PREFIX:?})"),
        ));
    }
    let test_type = match obj.string("type")?.as_str() {
        "certification" => TestType::Certification,
        "practice" => TestType::Practice,
        other => return Err(obj.error("type", format!("{other:?} is not a test type"), "certification or practice")),
    };
    let framework_name = obj.string("frameworkId")?;
    let framework_id = FrameworkId::parse(framework_name.as_str())
        .ok()
        .filter(|id| framework::framework(id).is_some())
        .ok_or_else(|| {
            let known: Vec<&str> = framework::catalogue().iter().map(|f| f.id).collect();
            obj.error(
                "frameworkId",
                format!("{framework_name:?} is not a known framework"),
                format!("one of {}", known.join(", ")),
            )
        })?;
    let proctored = obj.boolean("proctored")?;
    Ok(StandardizedTest { id, title, test_type, framework_id, proctored })
}

fn certification_request(obj: &Obj<'_>) -> Result<CertificationRequest, LineError> {
    let id = obj.id("id", CertificationRequestId::parse)?;
    let test_id = obj.id("testId", StandardizedTestId::parse)?;
    let candidate_name = obj.string("candidateName")?.trim().to_owned();
    let name_len = candidate_name.chars().count();
    if candidate_name.is_empty() || name_len > validate::MAX_TEXT {
        let problem = if candidate_name.is_empty() {
            "must not be empty".to_owned()
        } else {
            format!("is {name_len} characters long")
        };
        return Err(obj.error("candidateName", problem, format!("1–{} characters", validate::MAX_TEXT)));
    }
    let candidate_email = validate::email(&obj.string("candidateEmail")?).map_err(|err| obj.domain(err))?;
    let external_id = match obj.optional_string("externalId")? {
        Some(raw) => validate::external_id(Some(&raw)).map_err(|err| obj.domain(err))?,
        None => None,
    };
    let create_date = obj.timestamp("createDate")?;
    let expiration_date = obj.optional_timestamp("expirationDate")?;
    if let Some(expiration) = expiration_date
        && expiration < create_date
    {
        return Err(obj.error(
            "expirationDate",
            format!("{} is before createDate {}", expiration.as_millis(), create_date.as_millis()),
            "a time at or after createDate",
        ));
    }
    let last_status = obj.choice("lastStatus", &LastStatus::NAMES, &LastStatus::ALL)?;
    let custom_duration = match obj.optional_integer("customDuration")? {
        Some(ms) => Some(validate::duration("customDuration", Millis::from_millis(ms)).map_err(|err| obj.domain(err))?),
        None => None,
    };
    let integrations = match obj.optional_object("integrations")? {
        Some(nested) => Integrations {
            greenhouse_candidate_id: nested.ats_id("greenhouseCandidateId")?,
            greenhouse_application_id: nested.ats_id("greenhouseApplicationId")?,
            lever_opportunity_id: nested.ats_id("leverOpportunityId")?,
            smart_recruiters_order_id: nested.ats_id("smartRecruitersOrderId")?,
        },
        None => Integrations::default(),
    };
    let entries = obj.array("results")?;
    if entries.len() > MAX_RESULTS {
        return Err(obj.error("results", format!("has {} results", entries.len()), format!("at most {MAX_RESULTS}")));
    }
    let mut results = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let field = format!("results[{index}]");
        let Value::Object(map) = entry else {
            return Err(obj.error(&field, format!("is a JSON {}", kind_of(entry)), "an object"));
        };
        results.push(export_result(&obj.nested(&field, map))?);
    }
    let request = CertificationRequest {
        id,
        test_id,
        candidate_name,
        candidate_email,
        external_id,
        create_date,
        expiration_date,
        last_status,
        custom_duration,
        integrations,
        results,
    };
    check_status(obj, &request)?;
    Ok(request)
}

/// The statuses that say something about the results.
fn check_status(obj: &Obj<'_>, request: &CertificationRequest) -> Result<(), LineError> {
    match request.last_status {
        LastStatus::TestTaken if request.results.is_empty() => Err(obj.error(
            "lastStatus",
            "is testTaken, but the request has no results",
            "testTaken with at least one result, or pending, testStarted, rejected or expired without results",
        )),
        LastStatus::Shared
            if !request.results.iter().any(|r| r.certification_status == CertificationStatus::Certified) =>
        {
            Err(obj.error(
                "lastStatus",
                "is shared, but none of the request's results is certified",
                "shared with at least one result whose certificationStatus is certified",
            ))
        }
        _ => Ok(()),
    }
}

fn export_result(obj: &Obj<'_>) -> Result<ExportResult, LineError> {
    let test_session_id = obj.id("testSessionId", CertifyTestSessionId::parse)?;
    let start_date = obj.timestamp("startDate")?;
    let finish_date = obj.timestamp("finishDate")?;
    if finish_date < start_date {
        return Err(obj.error(
            "finishDate",
            format!("{} is before startDate {}", finish_date.as_millis(), start_date.as_millis()),
            "a time at or after startDate",
        ));
    }
    let raw_score = obj.integer("codingScore")?;
    let coding_score = CertifyCodingScore::parse(raw_score)
        .map_err(|_| obj.error("codingScore", format!("{raw_score} is out of range"), CertifyCodingScore::ALLOWED))?;
    let score = obj.count("score")?;
    let max_score = obj.count("maxScore")?;
    if max_score == 0 {
        return Err(obj.error("maxScore", "is 0", "a positive integer"));
    }
    if score > max_score {
        return Err(obj.error("score", format!("{score} exceeds maxScore {max_score}"), format!("0–{max_score}")));
    }
    let certification_status = obj.choice(
        "certificationStatus",
        &["certified", "pending", "rejected"],
        &[CertificationStatus::Certified, CertificationStatus::Pending, CertificationStatus::Rejected],
    )?;
    let mut rejected_reasons = Vec::new();
    if let Some(reasons) = obj.optional_array("rejectedReasons")? {
        if !reasons.is_empty() && certification_status != CertificationStatus::Rejected {
            return Err(obj.error(
                "rejectedReasons",
                format!("{} reasons on a result that is not rejected", reasons.len()),
                "reasons only when certificationStatus is rejected",
            ));
        }
        for (index, reason) in reasons.iter().enumerate() {
            let field = format!("rejectedReasons[{index}]");
            let Value::Object(map) = reason else {
                return Err(obj.error(
                    &field,
                    format!("is a JSON {}", kind_of(reason)),
                    "a {name, description} object",
                ));
            };
            let reason = obj.nested(&field, map);
            let name = reason.string("name")?.trim().to_owned();
            if name.is_empty() {
                return Err(reason.error("name", "must not be empty", "the reason's name"));
            }
            let description = reason.string("description")?.trim().to_owned();
            rejected_reasons.push(RejectionReason { name, description });
        }
    }
    let proctored = obj.boolean("proctored")?;
    Ok(ExportResult {
        test_session_id,
        start_date,
        finish_date,
        coding_score,
        score,
        max_score,
        certification_status,
        rejected_reasons,
        proctored,
    })
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// One JSON object of the line and where it is, for errors naming the full path of a field.
struct Obj<'a> {
    map: &'a Map<String, Value>,
    /// `""` for the line's object, else the path to this one followed by a dot.
    path: String,
    line: u64,
}

impl<'a> Obj<'a> {
    fn nested(&self, field: &str, map: &'a Map<String, Value>) -> Obj<'a> {
        Obj { map, path: format!("{}{field}.", self.path), line: self.line }
    }

    fn error(&self, field: &str, problem: impl Into<String>, allowed: impl Into<String>) -> LineError {
        LineError::new(self.line, Some(format!("{}{field}", self.path)), problem, allowed)
    }

    /// A validation error of the domain, at this object's path.
    fn domain(&self, err: DomainError) -> LineError {
        match err {
            DomainError::Invalid { field, problem, allowed } => self.error(field, problem, allowed),
            other => LineError::new(self.line, None, other.to_string(), "a valid line"),
        }
    }

    /// The field's value; absent and `null` are both `None`.
    fn get(&self, field: &str) -> Option<&'a Value> {
        self.map.get(field).filter(|v| !v.is_null())
    }

    fn required(&self, field: &str, allowed: &str) -> Result<&'a Value, LineError> {
        self.get(field).ok_or_else(|| self.error(field, "is missing", allowed))
    }

    fn wrong(&self, field: &str, value: &Value, allowed: &str) -> LineError {
        self.error(field, format!("is a JSON {}", kind_of(value)), allowed)
    }

    fn string(&self, field: &str) -> Result<String, LineError> {
        let value = self.required(field, "a string")?;
        value.as_str().map(str::to_owned).ok_or_else(|| self.wrong(field, value, "a string"))
    }

    fn optional_string(&self, field: &str) -> Result<Option<String>, LineError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.wrong(field, other, "a string, null, or no field")),
        }
    }

    fn id<T>(&self, field: &str, parse: fn(String) -> Result<T, IdError>) -> Result<T, LineError> {
        let raw = self.string(field)?;
        parse(raw).map_err(|err| self.error(field, err.to_string(), ID_ALLOWED))
    }

    fn ats_id(&self, field: &str) -> Result<Option<String>, LineError> {
        let Some(raw) = self.optional_string(field)? else { return Ok(None) };
        let raw = raw.trim();
        let len = raw.chars().count();
        if len > MAX_ATS_ID {
            return Err(self.error(
                field,
                format!("is {len} characters long"),
                format!("at most {MAX_ATS_ID} characters"),
            ));
        }
        Ok(Some(raw.to_owned()).filter(|id| !id.is_empty()))
    }

    fn boolean(&self, field: &str) -> Result<bool, LineError> {
        let value = self.required(field, "true or false")?;
        value.as_bool().ok_or_else(|| self.wrong(field, value, "true or false"))
    }

    fn integer(&self, field: &str) -> Result<i64, LineError> {
        let value = self.required(field, "an integer")?;
        value.as_i64().ok_or_else(|| match value {
            Value::Number(n) => self.error(field, format!("{n} is not an integer"), "an integer"),
            other => self.wrong(field, other, "an integer"),
        })
    }

    fn optional_integer(&self, field: &str) -> Result<Option<i64>, LineError> {
        match self.get(field) {
            None => Ok(None),
            Some(_) => self.integer(field).map(Some),
        }
    }

    /// A non-negative integer that fits 32 bits (scores).
    fn count(&self, field: &str) -> Result<u32, LineError> {
        let value = self.integer(field)?;
        u32::try_from(value)
            .map_err(|_| self.error(field, format!("{value} is out of range"), "an integer from 0 to 4294967295"))
    }

    fn timestamp(&self, field: &str) -> Result<Timestamp, LineError> {
        let value = self.required(field, MS_ALLOWED)?;
        match value.as_i64() {
            Some(ms) if ms >= 0 => Ok(Timestamp::from_millis(ms)),
            Some(ms) => Err(self.error(field, format!("{ms} is before 1970"), MS_ALLOWED)),
            None => Err(match value {
                Value::Number(n) => self.error(field, format!("{n} is not an integer"), MS_ALLOWED),
                other => self.wrong(field, other, MS_ALLOWED),
            }),
        }
    }

    fn optional_timestamp(&self, field: &str) -> Result<Option<Timestamp>, LineError> {
        match self.get(field) {
            None => Ok(None),
            Some(_) => self.timestamp(field).map(Some),
        }
    }

    fn choice<T: Copy>(&self, field: &str, names: &[&str], values: &[T]) -> Result<T, LineError> {
        let allowed = names.join(", ");
        let raw = match self.required(field, &format!("one of {allowed}"))? {
            Value::String(s) => s,
            other => return Err(self.wrong(field, other, &format!("one of {allowed}"))),
        };
        match names.iter().position(|n| *n == raw.as_str()) {
            Some(at) => Ok(values[at]),
            None => Err(self.error(field, format!("{raw:?} is not allowed"), format!("one of {allowed}"))),
        }
    }

    fn array(&self, field: &str) -> Result<&'a Vec<Value>, LineError> {
        let value = self.required(field, "an array (possibly empty)")?;
        value.as_array().ok_or_else(|| self.wrong(field, value, "an array (possibly empty)"))
    }

    fn optional_array(&self, field: &str) -> Result<Option<&'a Vec<Value>>, LineError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(other) => Err(self.wrong(field, other, "an array, null, or no field")),
        }
    }

    fn optional_object(&self, field: &str) -> Result<Option<Obj<'a>>, LineError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(self.nested(field, map))),
            Some(other) => Err(self.wrong(field, other, "an object, null, or no field")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST: &str = r#"{"kind":"standardizedTest","id":"gca-1","title":" General Coding ","type":"certification","frameworkId":"general-coding","proctored":true,"legacyField":42}"#;

    fn request_line(results: &str, extra: &str) -> String {
        format!(
            r#"{{"kind":"certificationRequest","id":"req-1","testId":"gca-1","candidateName":"Jane Doe","candidateEmail":"Jane@Example.com","createDate":1000,"lastStatus":"testTaken","results":[{results}]{extra}}}"#
        )
    }

    const RESULT: &str = r#"{"testSessionId":"ts-1","startDate":2000,"finishDate":3000,"codingScore":820,"score":1148,"maxScore":1300,"certificationStatus":"certified","proctored":true}"#;

    fn refused(text: &str) -> LineError {
        parse_line(7, text).expect_err("the line is refused")
    }

    #[test]
    fn a_standardized_test_is_read_and_unknown_fields_are_ignored() {
        let ExportLine::StandardizedTest(test) = parse_line(1, TEST).unwrap() else { panic!("a test line") };
        assert_eq!(test.id.as_str(), "gca-1");
        assert_eq!(test.title, "General Coding");
        assert_eq!(test.test_type, TestType::Certification);
        assert_eq!(test.framework_id.as_str(), "general-coding");
        assert!(test.proctored);
    }

    #[test]
    fn a_request_is_read_with_its_results() {
        let text = request_line(
            RESULT,
            r#","integrations":{"greenhouseCandidateId":"gh-1","leverOpportunityId":null},"externalId":null"#,
        );
        let ExportLine::CertificationRequest(request) = parse_line(2, &text).unwrap() else { panic!("a request line") };
        assert_eq!(request.candidate_email, "jane@example.com");
        assert_eq!(request.last_status, LastStatus::TestTaken);
        assert_eq!(request.integrations.greenhouse_candidate_id.as_deref(), Some("gh-1"));
        assert_eq!(request.integrations.lever_opportunity_id, None);
        assert_eq!(request.external_id, None);
        assert_eq!(request.expiration_date, None);
        assert_eq!(request.results.len(), 1);
        let result = &request.results[0];
        assert_eq!(result.coding_score.value(), 820);
        assert_eq!((result.score, result.max_score), (1148, 1300));
        assert_eq!(result.certification_status, CertificationStatus::Certified);
    }

    #[test]
    fn bad_lines_name_line_field_and_what_is_allowed() {
        let err = refused("not json");
        assert_eq!((err.line, err.field.as_deref()), (7, None));
        assert_eq!(err.allowed, "one JSON object per line");
        assert!(refused("[1, 2]").problem.contains("array"));

        let err = refused(r#"{"kind":"company"}"#);
        assert_eq!(err.field.as_deref(), Some("kind"));
        assert_eq!(err.allowed, "standardizedTest or certificationRequest");

        let err = refused(&TEST.replace("general-coding", "quantum"));
        assert_eq!(err.field.as_deref(), Some("frameworkId"));
        assert!(err.allowed.contains("general-coding") && err.allowed.contains("system-design"), "{err}");

        let err = refused(&TEST.replace(r#""proctored":true,"#, ""));
        assert_eq!((err.field.as_deref(), err.problem.as_str()), (Some("proctored"), "is missing"));

        let err = refused(&request_line(&RESULT.replace("820", "900"), ""));
        assert_eq!(err.field.as_deref(), Some("results[0].codingScore"));
        assert_eq!(err.allowed, CertifyCodingScore::ALLOWED);
        assert_eq!(
            err.to_string(),
            "line 7: results[0].codingScore: 900 is out of range (allowed: 0 (nothing submitted) or an integer from 300 to 850)"
        );

        let err = refused(&request_line(RESULT, "").replace("testTaken", "done"));
        assert_eq!(err.field.as_deref(), Some("lastStatus"));
        assert_eq!(err.allowed, "one of pending, testStarted, testTaken, shared, rejected, expired");

        let err = refused(&request_line(RESULT, "").replace("Jane@Example.com", "jane"));
        assert_eq!(err.field.as_deref(), Some("candidateEmail"));

        let err = refused(&request_line(RESULT, r#","expirationDate":999"#));
        assert_eq!(err.field.as_deref(), Some("expirationDate"));

        let err = refused(&request_line(RESULT, r#","integrations":{"greenhouseApplicationId":7}"#));
        assert_eq!(err.field.as_deref(), Some("integrations.greenhouseApplicationId"));

        let err = refused(&request_line(&RESULT.replace(r#""startDate":2000"#, r#""startDate":2000.5"#), ""));
        assert_eq!(err.field.as_deref(), Some("results[0].startDate"));

        let err = refused(&request_line(&RESULT.replace("1148", "1400"), ""));
        assert_eq!(err.field.as_deref(), Some("results[0].score"));

        let err = refused(&request_line(RESULT, r#","customDuration":10"#));
        assert_eq!(err.field.as_deref(), Some("customDuration"));

        let err = refused(&request_line(RESULT, "").replace(r#","results":[{"#, r#","x":[{"#));
        assert_eq!((err.field.as_deref(), err.problem.as_str()), (Some("results"), "is missing"));
    }

    #[test]
    fn statuses_must_agree_with_the_results() {
        let err = refused(&request_line("", ""));
        assert_eq!(err.field.as_deref(), Some("lastStatus"));
        let pending = RESULT.replace("certified", "pending");
        let err = refused(&request_line(&pending, "").replace("testTaken", "shared"));
        assert!(err.problem.contains("none of the request's results is certified"), "{err}");
        assert!(parse_line(1, &request_line(&pending, "")).is_ok());
    }

    #[test]
    fn rejection_reasons_belong_to_rejected_results() {
        let reasons = r#","rejectedReasons":[{"name":"Identity","description":"The ID did not match"}]"#;
        let rejected =
            RESULT.replace("certified", "rejected").replace(r#","proctored""#, &format!(r#"{reasons},"proctored""#));
        let ExportLine::CertificationRequest(request) = parse_line(1, &request_line(&rejected, "")).unwrap() else {
            panic!("a request line")
        };
        assert_eq!(request.results[0].rejected_reasons[0].name, "Identity");
        let certified_with_reasons = RESULT.replace(r#","proctored""#, &format!(r#"{reasons},"proctored""#));
        let err = refused(&request_line(&certified_with_reasons, ""));
        assert_eq!(err.field.as_deref(), Some("results[0].rejectedReasons"));
        let nameless = rejected.replace(r#""name":"Identity""#, r#""name":" ""#);
        assert_eq!(refused(&request_line(&nameless, "")).field.as_deref(), Some("results[0].rejectedReasons[0].name"));
    }
}
