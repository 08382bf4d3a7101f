//! `company`, `frameworks` and `certificationTests`: what any valid key may read.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use screenhook_domain::{Framework, catalogue};

use super::{
    caller, engine, list_cost, page, paginate,
    types::{CompanyObj, FrameworkObj, PageInfo},
};
use crate::error::ApiError;

#[derive(Default)]
pub struct CatalogueQuery;

#[derive(SimpleObject)]
pub struct Frameworks {
    pub total_count: i32,
    pub frameworks: Vec<FrameworkObj>,
    pub page_info: PageInfo,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(rename_items = "camelCase")]
pub enum StandardizedTestType {
    /// Generates certified, proctored test results.
    Certification,
    Practice,
}

/// `StandardizedTest`: here, one certification test per framework, with the framework's id.
pub struct StandardizedTest(pub(crate) &'static Framework);

#[Object]
impl StandardizedTest {
    async fn id(&self) -> ID {
        ID(self.0.id.to_owned())
    }

    async fn title(&self) -> &str {
        self.0.title
    }

    #[graphql(name = "type")]
    async fn kind(&self) -> StandardizedTestType {
        StandardizedTestType::Certification
    }

    /// ms.
    async fn duration(&self) -> f64 {
        self.0.duration.as_millis() as f64
    }

    /// Not in CodeSignal's API: the framework a Pre-Screen must be built from
    /// (`createCompanyTestFromFramework`) to use this certification.
    async fn framework(&self) -> FrameworkObj {
        FrameworkObj(self.0)
    }
}

#[derive(SimpleObject)]
pub struct CertificationTests {
    pub total_count: i32,
    pub certification_tests: Vec<StandardizedTest>,
    pub page_info: PageInfo,
}

/// A `companyId` argument must name the caller's own company (or be omitted).
pub(crate) fn own_company(ctx: &Context<'_>, company_id: Option<&ID>) -> Result<(), ApiError> {
    let caller = caller(ctx)?;
    match company_id {
        Some(id) if id.as_str() != caller.company().as_str() => Err(ApiError::not_found("company", id.as_str())),
        _ => Ok(()),
    }
}

#[Object]
impl CatalogueQuery {
    /// The API consumer's company (`id` defaults to it; any other id is not found).
    async fn company(&self, ctx: &Context<'_>, id: Option<ID>) -> async_graphql::Result<Option<CompanyObj>> {
        own_company(ctx, id.as_ref())?;
        let caller = caller(ctx)?;
        let company = engine(ctx).store.company(caller.company()).await.map_err(ApiError::from)?;
        Ok(company.map(CompanyObj))
    }

    /// Skills Evaluation Frameworks (the content of Certified Evaluations).
    #[graphql(complexity = "list_cost(1, Some(first), 0, child_complexity)")]
    async fn frameworks(
        &self,
        ctx: &Context<'_>,
        first: i32,
        offset: Option<i32>,
        ids: Option<Vec<ID>>,
    ) -> async_graphql::Result<Frameworks> {
        caller(ctx)?;
        let page = page(first, offset)?;
        let all: Vec<&'static Framework> = catalogue()
            .iter()
            .filter(|f| ids.as_ref().is_none_or(|ids| ids.iter().any(|id| id.as_str() == f.id)))
            .collect();
        let total_count = all.len() as i32;
        let (items, has_next_page) = paginate(all, page);
        Ok(Frameworks {
            total_count,
            frameworks: items.into_iter().map(FrameworkObj).collect(),
            page_info: PageInfo { has_next_page },
        })
    }

    /// Certification tests available to the company: one per framework.
    #[graphql(complexity = "list_cost(1, Some(first), 0, child_complexity)")]
    async fn certification_tests(
        &self,
        ctx: &Context<'_>,
        company_id: Option<ID>,
        first: i32,
        offset: Option<i32>,
    ) -> async_graphql::Result<CertificationTests> {
        own_company(ctx, company_id.as_ref())?;
        let page = page(first, offset)?;
        let all: Vec<&'static Framework> = catalogue().iter().collect();
        let total_count = all.len() as i32;
        let (items, has_next_page) = paginate(all, page);
        Ok(CertificationTests {
            total_count,
            certification_tests: items.into_iter().map(StandardizedTest).collect(),
            page_info: PageInfo { has_next_page },
        })
    }
}
