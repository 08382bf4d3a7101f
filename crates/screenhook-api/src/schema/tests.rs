//! Pre-Screens: `companyTest`, `companyTests`, `createCompanyTest`,
//! `createCompanyTestFromFramework`, `editCompanyTest`, `archiveCompanyTest`,
//! `unarchiveCompanyTest`, `deleteCompanyTest`. All need the `tests` permission.

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use screenhook_domain::{
    FrameworkId, Permission, StandardizedTestId, TestId,
    test::{NewFrameworkTest, NewTest, TestCommand, TestEdit},
};

use super::{
    allowed,
    catalogue::own_company,
    engine, list_cost, millis, page, paginate, parse_id,
    sessions::EmailReminder,
    types::{CompanyTestObj, PageInfo},
};
use crate::error::ApiError;

#[derive(Default)]
pub struct TestQuery;

#[derive(Default)]
pub struct TestMutation;

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(rename_items = "camelCase")]
pub enum CompanyTestSortBy {
    Title,
    CreateDate,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(rename_items = "camelCase")]
pub enum SortDirection {
    Asc,
    Desc,
}

#[derive(SimpleObject)]
pub struct CompanyTests {
    pub total_count: i32,
    pub company_tests: Vec<CompanyTestObj>,
    pub page_info: PageInfo,
}

/// `createCompanyTest`: a custom Pre-Screen.
#[derive(InputObject)]
pub struct CreateCompanyTestInput {
    pub title: String,
    pub external_title: String,
    pub internal_description: Option<String>,
    /// Must be the caller's company when given.
    pub company_id: Option<ID>,
    /// Time a candidate has once started, ms (1 minute – 24 hours).
    pub duration: f64,
    /// Default invitation window, ms (1 day – 6 months; 14 days when absent).
    pub default_expiration: Option<f64>,
    pub labels: Option<Vec<String>>,
    /// Not in CodeSignal's API: proctor candidates (default false).
    pub proctored: Option<bool>,
}

/// `createCompanyTestFromFramework`: a Certified Evaluation. Fields CodeSignal's input has that
/// this server has no use for (messages, sender, time zone, reminders) are accepted and ignored.
#[derive(InputObject)]
pub struct CreateCompanyTestFromFrameworkInput {
    pub framework_id: ID,
    pub title: String,
    pub external_title: String,
    /// Accepted and ignored: titles need not be unique here.
    pub auto_resolve_title_conflict: Option<bool>,
    pub internal_description: Option<String>,
    /// Must be the caller's company when given.
    pub company_id: Option<ID>,
    /// Accepted and ignored.
    pub author_user_id: Option<ID>,
    /// ms (1 day – 6 months; 14 days when absent).
    pub default_expiration: Option<f64>,
    /// Accepted and ignored (the framework's messages are used).
    pub intro_message: Option<String>,
    /// Accepted and ignored.
    pub outro_message: Option<String>,
    /// Accepted and ignored: this server sends no email.
    pub email_reminders: Option<Vec<EmailReminder>>,
    /// Accepted and ignored.
    pub time_zone: Option<String>,
    /// Accepted and ignored.
    pub default_sender: Option<ID>,
    pub labels: Option<Vec<String>>,
    /// Accepted and ignored.
    pub hide_scores_from_candidate: Option<bool>,
    /// Maximum age of a re-shared result, ms; null = no limit.
    pub result_date_limit: Option<f64>,
    /// Not in CodeSignal's API: proctor candidates (default true, as certified results are).
    pub proctored: Option<bool>,
}

/// `editCompanyTest`: omitted fields stay as they are; `null` clears the clearable ones.
#[derive(InputObject)]
pub struct EditCompanyTestInput {
    pub title: Option<String>,
    pub external_title: Option<String>,
    pub internal_description: MaybeUndefined<String>,
    pub labels: Option<Vec<String>>,
    pub proctored: Option<bool>,
    pub default_expiration: Option<f64>,
    pub result_date_limit: MaybeUndefined<f64>,
    /// Only the test's own framework is accepted: a framework never changes after creation.
    pub framework_id: Option<ID>,
}

pub(crate) async fn load_test(ctx: &Context<'_>, id: &ID) -> Result<screenhook_domain::CompanyTest, ApiError> {
    let caller = allowed(ctx, Permission::Tests)?;
    let test_id = parse_id("id", id, TestId::parse)?;
    engine(ctx).store.test(caller.company(), &test_id).await?.ok_or_else(|| ApiError::not_found("test", id.as_str()))
}

#[Object]
impl TestQuery {
    async fn company_test(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<CompanyTestObj>> {
        Ok(Some(CompanyTestObj(load_test(ctx, &id).await?)))
    }

    /// The Certified Evaluation a standardized test imported from a Certify export became
    /// (titled `[Migrated] <title>`); null when none was imported.
    async fn certify_migrated_test(
        &self,
        ctx: &Context<'_>,
        standardized_test_id: ID,
    ) -> async_graphql::Result<Option<CompanyTestObj>> {
        let caller = allowed(ctx, Permission::Tests)?;
        let old = parse_id("standardizedTestId", &standardized_test_id, StandardizedTestId::parse)?;
        let store = &engine(ctx).store;
        let Some(id) = store.certify_test(caller.company(), &old).await.map_err(ApiError::from)? else {
            return Ok(None);
        };
        Ok(store.test(caller.company(), &id).await.map_err(ApiError::from)?.map(CompanyTestObj))
    }

    /// The company's Pre-Screens (deleted ones excluded). `labels` keeps tests having all of
    /// them; `titleSearchText` matches titles case-insensitively. `targetUserId` is accepted
    /// and ignored (there are no users here).
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "list_cost(1, Some(first), 0, child_complexity)")]
    async fn company_tests(
        &self,
        ctx: &Context<'_>,
        company_id: Option<ID>,
        first: i32,
        offset: Option<i32>,
        ids: Option<Vec<ID>>,
        title_search_text: Option<String>,
        labels: Option<Vec<String>>,
        sort_by: Option<CompanyTestSortBy>,
        sort_direction: Option<SortDirection>,
        target_user_id: Option<ID>,
    ) -> async_graphql::Result<CompanyTests> {
        let _ = target_user_id;
        let caller = allowed(ctx, Permission::Tests)?;
        own_company(ctx, company_id.as_ref())?;
        let page = page(first, offset)?;
        let mut tests = engine(ctx).store.tests(caller.company()).await.map_err(ApiError::from)?;
        let needle = title_search_text.map(|t| t.to_lowercase());
        tests.retain(|t| {
            ids.as_ref().is_none_or(|ids| ids.iter().any(|id| id.as_str() == t.id.as_str()))
                && needle.as_ref().is_none_or(|n| t.title.to_lowercase().contains(n))
                && labels.as_ref().is_none_or(|ls| ls.iter().all(|l| t.labels.contains(l)))
        });
        match sort_by.unwrap_or(CompanyTestSortBy::Title) {
            CompanyTestSortBy::Title => {
                tests.sort_by(|a, b| a.title.to_lowercase().cmp(&b.title.to_lowercase()).then(a.id.cmp(&b.id)))
            }
            CompanyTestSortBy::CreateDate => {
                tests.sort_by(|a, b| a.create_date.cmp(&b.create_date).then(a.id.cmp(&b.id)))
            }
        }
        if sort_direction == Some(SortDirection::Desc) {
            tests.reverse();
        }
        let total_count = tests.len() as i32;
        let (items, has_next_page) = paginate(tests, page);
        Ok(CompanyTests {
            total_count,
            company_tests: items.into_iter().map(CompanyTestObj).collect(),
            page_info: PageInfo { has_next_page },
        })
    }
}

fn opt_millis(field: &str, value: Option<f64>) -> Result<Option<screenhook_domain::Millis>, ApiError> {
    value.map(|v| millis(field, v)).transpose()
}

#[Object]
impl TestMutation {
    async fn create_company_test(
        &self,
        ctx: &Context<'_>,
        test_fields: CreateCompanyTestInput,
    ) -> async_graphql::Result<Option<CompanyTestObj>> {
        let caller = allowed(ctx, Permission::Tests)?;
        own_company(ctx, test_fields.company_id.as_ref())?;
        let company = caller.company().clone();
        let new = NewTest {
            // Both replaced by the engine (new id, the caller's company).
            id: TestId::parse("new").expect("a valid id"),
            company_id: company.clone(),
            title: test_fields.title,
            external_title: test_fields.external_title,
            internal_description: test_fields.internal_description,
            proctored: test_fields.proctored.unwrap_or(false),
            duration: millis("duration", test_fields.duration)?,
            default_expiration: opt_millis("defaultExpiration", test_fields.default_expiration)?,
            labels: test_fields.labels.unwrap_or_default(),
        };
        let (test, _) = engine(ctx).create_test(&company, TestCommand::Create(new)).await.map_err(ApiError::from)?;
        Ok(Some(CompanyTestObj(test)))
    }

    /// A Pre-Screen backed by a certified assessment: duration and scoring come from the framework.
    async fn create_company_test_from_framework(
        &self,
        ctx: &Context<'_>,
        test_fields: CreateCompanyTestFromFrameworkInput,
    ) -> async_graphql::Result<Option<CompanyTestObj>> {
        let caller = allowed(ctx, Permission::Tests)?;
        own_company(ctx, test_fields.company_id.as_ref())?;
        let company = caller.company().clone();
        let new = NewFrameworkTest {
            id: TestId::parse("new").expect("a valid id"),
            company_id: company.clone(),
            framework_id: parse_id("frameworkId", &test_fields.framework_id, FrameworkId::parse)?,
            title: test_fields.title,
            external_title: test_fields.external_title,
            internal_description: test_fields.internal_description,
            proctored: test_fields.proctored.unwrap_or(true),
            default_expiration: opt_millis("defaultExpiration", test_fields.default_expiration)?,
            result_date_limit: opt_millis("resultDateLimit", test_fields.result_date_limit)?,
            labels: test_fields.labels.unwrap_or_default(),
        };
        let (test, _) =
            engine(ctx).create_test(&company, TestCommand::CreateFromFramework(new)).await.map_err(ApiError::from)?;
        Ok(Some(CompanyTestObj(test)))
    }

    async fn edit_company_test(
        &self,
        ctx: &Context<'_>,
        id: ID,
        test_fields: EditCompanyTestInput,
    ) -> async_graphql::Result<Option<CompanyTestObj>> {
        let caller = allowed(ctx, Permission::Tests)?;
        let test_id = parse_id("id", &id, TestId::parse)?;
        let edit = TestEdit {
            title: test_fields.title,
            external_title: test_fields.external_title,
            internal_description: match test_fields.internal_description {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(v) => Some(Some(v)),
            },
            labels: test_fields.labels,
            proctored: test_fields.proctored,
            default_expiration: opt_millis("defaultExpiration", test_fields.default_expiration)?,
            result_date_limit: match test_fields.result_date_limit {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(v) => Some(Some(millis("resultDateLimit", v)?)),
            },
            framework_id: test_fields
                .framework_id
                .as_ref()
                .map(|f| parse_id("frameworkId", f, FrameworkId::parse))
                .transpose()?,
        };
        let (test, _) = engine(ctx)
            .test_command(caller.company(), &test_id, TestCommand::Edit(edit))
            .await
            .map_err(ApiError::from)?;
        Ok(Some(CompanyTestObj(test)))
    }

    /// Not in CodeSignal's API: an active Pre-Screen stops accepting invitations; its sessions
    /// go on.
    async fn archive_company_test(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<CompanyTestObj>> {
        status_command(ctx, &id, TestCommand::Archive).await
    }

    /// Not in CodeSignal's API: an archived Pre-Screen accepts invitations again.
    async fn unarchive_company_test(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<CompanyTestObj>> {
        status_command(ctx, &id, TestCommand::Unarchive).await
    }

    /// Not in CodeSignal's API: for good. The test leaves `companyTests` and refuses every
    /// further command; `companyTest(id)` still reads it, with status `deleted`.
    async fn delete_company_test(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<CompanyTestObj>> {
        status_command(ctx, &id, TestCommand::Delete).await
    }
}

/// A status change of one of the caller's tests; returns the test as it now is.
async fn status_command(ctx: &Context<'_>, id: &ID, cmd: TestCommand) -> async_graphql::Result<Option<CompanyTestObj>> {
    let caller = allowed(ctx, Permission::Tests)?;
    let test_id = parse_id("id", id, TestId::parse)?;
    let (test, _) = engine(ctx).test_command(caller.company(), &test_id, cmd).await.map_err(ApiError::from)?;
    Ok(Some(CompanyTestObj(test)))
}
