//! The reads whose answer is one text column — documents and ids — written once for both
//! stores: each store runs a [`TextRead`] with [`Store::read_texts`](crate::Store::read_texts),
//! and the trait's provided methods turn the rows into aggregates.
//!
//! Parameters are numbered `$1, $2, …` in the order they first appear. PostgreSQL binds them by
//! number; SQLite reads `$1` as a name and binds names by order of first appearance, so the
//! same text binds the same values on both (a test below holds every statement to the order).

use std::borrow::Cow;

use screenhook_domain::{
    CertificationRequestId, CompanyId, FrameworkId, InterviewId, SessionId, StandardizedTestId, TestId,
};
use serde::de::DeserializeOwned;

use crate::{AtsIdType, Page, SessionFilter, StoreError};

/// A statement's parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Text(String),
    Int(i64),
}

/// A statement that selects one text column, with its parameters in order. Only this
/// module's functions make one, so a store runs no SQL but theirs.
#[derive(Debug, Clone)]
pub struct TextRead {
    sql: Cow<'static, str>,
    params: Vec<Param>,
}

impl TextRead {
    /// The statement and its parameters, for the store that runs it.
    pub fn into_parts(self) -> (Cow<'static, str>, Vec<Param>) {
        (self.sql, self.params)
    }

    fn new(sql: &'static str, params: impl IntoIterator<Item = Param>) -> Self {
        Self { sql: Cow::Borrowed(sql), params: params.into_iter().collect() }
    }
}

fn text(value: &str) -> Param {
    Param::Text(value.to_owned())
}

fn page_params(page: Page) -> [Param; 2] {
    [Param::Int(i64::from(page.first)), Param::Int(i64::from(page.offset))]
}

pub fn company(id: &CompanyId) -> TextRead {
    TextRead::new("SELECT doc FROM companies WHERE id = $1", [text(id.as_str())])
}

pub fn companies() -> TextRead {
    TextRead::new("SELECT doc FROM companies ORDER BY created_at, id", [])
}

pub fn api_key(public_id: &str) -> TextRead {
    TextRead::new("SELECT doc FROM api_keys WHERE public_id = $1", [text(public_id)])
}

pub fn api_keys(company: &CompanyId) -> TextRead {
    TextRead::new(
        "SELECT doc FROM api_keys WHERE company_id = $1 ORDER BY created_at, public_id",
        [text(company.as_str())],
    )
}

pub fn test(company: &CompanyId, id: &TestId) -> TextRead {
    TextRead::new(
        "SELECT doc FROM tests WHERE id = $1 AND company_id = $2",
        [text(id.as_str()), text(company.as_str())],
    )
}

pub fn tests(company: &CompanyId) -> TextRead {
    TextRead::new(
        "SELECT doc FROM tests WHERE company_id = $1 AND status <> 'deleted' ORDER BY title, id",
        [text(company.as_str())],
    )
}

pub fn session(company: &CompanyId, id: &SessionId) -> TextRead {
    TextRead::new(
        "SELECT doc FROM sessions WHERE id = $1 AND company_id = $2",
        [text(id.as_str()), text(company.as_str())],
    )
}

pub fn session_unscoped(id: &SessionId) -> TextRead {
    TextRead::new("SELECT doc FROM sessions WHERE id = $1", [text(id.as_str())])
}

pub fn sessions_of_test(company: &CompanyId, test: &TestId, page: Page) -> TextRead {
    let [first, offset] = page_params(page);
    TextRead::new(
        "SELECT doc FROM sessions WHERE company_id = $1 AND test_id = $2 \
         ORDER BY finish_date IS NULL, finish_date DESC, create_date DESC, id DESC LIMIT $3 OFFSET $4",
        [text(company.as_str()), text(test.as_str()), first, offset],
    )
}

/// Only the filters set are in the statement, so each of its eight shapes is planned (and
/// cached) for its own index: `($n IS NULL OR …)` terms would let no index be used.
pub fn company_sessions(company: &CompanyId, filter: &SessionFilter, page: Page) -> TextRead {
    let mut sql = String::from("SELECT doc FROM sessions WHERE company_id = $1");
    let mut params = vec![text(company.as_str())];
    let mut term = |sql: &mut String, column: &str, value: Param| {
        params.push(value);
        sql.push_str(&format!(" AND {column} = ${}", params.len()));
    };
    if let Some(test) = &filter.test {
        term(&mut sql, "test_id", text(test.as_str()));
    }
    match filter.status {
        Some(status) => term(&mut sql, "status", text(status.as_str())),
        None => sql.push_str(" AND status <> 'deleted'"),
    }
    if let Some(verification) = filter.verification {
        term(&mut sql, "verification_status", text(verification.as_str()));
    }
    params.extend(page_params(page));
    let (first, offset) = (params.len() - 1, params.len());
    sql.push_str(&format!(" ORDER BY create_date DESC, id DESC LIMIT ${first} OFFSET ${offset}"));
    TextRead { sql: Cow::Owned(sql), params }
}

pub fn pending_session_for(company: &CompanyId, test: &TestId, email: &str) -> TextRead {
    TextRead::new(
        "SELECT doc FROM sessions WHERE company_id = $1 AND test_id = $2 AND candidate_email = $3 \
         AND status = 'pending' ORDER BY create_date DESC, id DESC LIMIT 1",
        [text(company.as_str()), text(test.as_str()), text(email)],
    )
}

pub fn sessions_of_candidate(email: &str, framework: &FrameworkId) -> TextRead {
    TextRead::new(
        "SELECT doc FROM sessions WHERE candidate_email = $1 AND framework_id = $2 ORDER BY create_date, id",
        [text(email), text(framework.as_str())],
    )
}

pub fn sessions_by_ats_id(company: &CompanyId, id_type: AtsIdType, id: &str) -> TextRead {
    let sql = match id_type {
        AtsIdType::GreenhouseApplicationId => {
            "SELECT doc FROM sessions WHERE company_id = $1 AND greenhouse_application_id = $2 \
             ORDER BY create_date DESC, id"
        }
        AtsIdType::GreenhouseCandidateId => {
            "SELECT doc FROM sessions WHERE company_id = $1 AND greenhouse_candidate_id = $2 \
             ORDER BY create_date DESC, id"
        }
    };
    TextRead::new(sql, [text(company.as_str()), text(id)])
}

pub fn interview(company: &CompanyId, id: &InterviewId) -> TextRead {
    TextRead::new(
        "SELECT doc FROM interviews WHERE id = $1 AND company_id = $2",
        [text(id.as_str()), text(company.as_str())],
    )
}

pub fn certify_test(company: &CompanyId, old: &StandardizedTestId) -> TextRead {
    TextRead::new(
        "SELECT new_id FROM certify_ids WHERE company_id = $1 AND kind = 'test' AND old_id = $2",
        [text(company.as_str()), text(old.as_str())],
    )
}

pub fn certify_request(company: &CompanyId, old: &CertificationRequestId) -> TextRead {
    TextRead::new(
        "SELECT new_id FROM certify_ids WHERE company_id = $1 AND kind = 'request' AND old_id = $2",
        [text(company.as_str()), text(old.as_str())],
    )
}

/// Each row's document.
pub fn documents<T: DeserializeOwned>(texts: Vec<String>) -> Result<Vec<T>, StoreError> {
    texts.iter().map(|doc| serde_json::from_str(doc).map_err(|err| StoreError::Corrupt(err.to_string()))).collect()
}

/// The first row's document, if any.
pub fn document<T: DeserializeOwned>(texts: Vec<String>) -> Result<Option<T>, StoreError> {
    Ok(documents(texts.into_iter().take(1).collect())?.pop())
}

/// The first row's `certify_ids.new_id`, if any, parsed as the id it names.
pub fn new_id<T, E: std::fmt::Display>(
    texts: Vec<String>,
    parse: fn(String) -> Result<T, E>,
) -> Result<Option<T>, StoreError> {
    texts
        .into_iter()
        .next()
        .map(|id| parse(id).map_err(|e| StoreError::Corrupt(format!("certify_ids.new_id: {e}"))))
        .transpose()
}

#[cfg(test)]
mod tests {
    use screenhook_domain::{SessionStatus, VerificationStatus};

    use super::*;

    /// `$n` in the order of first appearance, from `$1` up, and one parameter for each.
    fn numbered_in_order(read: &TextRead) -> bool {
        let mut seen = 0;
        for (at, _) in read.sql.match_indices('$') {
            let digits: String = read.sql[at + 1..].chars().take_while(char::is_ascii_digit).collect();
            let n: usize = digits.parse().expect("a number after $");
            if n == seen + 1 {
                seen = n;
            } else if n > seen {
                return false;
            }
        }
        seen == read.params.len()
    }

    #[test]
    fn every_statement_numbers_its_parameters_in_order() {
        let (owner, test_id) = (CompanyId::parse("c1").unwrap(), TestId::parse("t1").unwrap());
        let session_id = SessionId::parse("s1").unwrap();
        let page = Page { first: 10, offset: 20 };
        let mut reads = vec![
            company(&owner),
            companies(),
            api_key("pk"),
            api_keys(&owner),
            test(&owner, &test_id),
            tests(&owner),
            session(&owner, &session_id),
            session_unscoped(&session_id),
            sessions_of_test(&owner, &test_id, page),
            pending_session_for(&owner, &test_id, "a@example.com"),
            sessions_of_candidate("a@example.com", &FrameworkId::parse("general-coding").unwrap()),
            sessions_by_ats_id(&owner, AtsIdType::GreenhouseApplicationId, "1"),
            sessions_by_ats_id(&owner, AtsIdType::GreenhouseCandidateId, "1"),
            interview(&owner, &InterviewId::parse("i1").unwrap()),
            certify_test(&owner, &StandardizedTestId::parse("st1").unwrap()),
            certify_request(&owner, &CertificationRequestId::parse("r1").unwrap()),
        ];
        for test in [None, Some(test_id.clone())] {
            for status in [None, Some(SessionStatus::Pending)] {
                for verification in [None, Some(VerificationStatus::Pending)] {
                    let filter = SessionFilter { test: test.clone(), status, verification };
                    reads.push(company_sessions(&owner, &filter, page));
                }
            }
        }
        for read in &reads {
            assert!(numbered_in_order(read), "{} with {} parameters", read.sql, read.params.len());
        }
    }

    #[test]
    fn the_checker_catches_parameters_out_of_order() {
        let swapped = TextRead::new("SELECT doc FROM t WHERE a = $2 AND b = $1", [text("a"), text("b")]);
        let short = TextRead::new("SELECT doc FROM t WHERE a = $1", [text("a"), text("b")]);
        assert!(!numbered_in_order(&swapped));
        assert!(!numbered_in_order(&short));
    }

    #[test]
    fn a_filtered_list_binds_what_it_names() {
        let filter = SessionFilter {
            test: None,
            status: Some(SessionStatus::Over),
            verification: Some(VerificationStatus::Verified),
        };
        let read = company_sessions(&CompanyId::parse("c1").unwrap(), &filter, Page { first: 5, offset: 0 });
        assert_eq!(
            read.sql,
            "SELECT doc FROM sessions WHERE company_id = $1 AND status = $2 AND verification_status = $3 \
             ORDER BY create_date DESC, id DESC LIMIT $4 OFFSET $5"
        );
        assert_eq!(read.params[1], text(SessionStatus::Over.as_str()));
        assert_eq!(read.params[3], Param::Int(5));
    }
}
