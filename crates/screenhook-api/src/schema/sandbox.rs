//! The sandbox clock (not in CodeSignal's API): sandbox companies run `clockOffset` ahead of real
//! time, and `advanceSandboxClock` moves that offset forward so the simulator can reach
//! invitation expiry without waiting 14 days. Other companies are refused with `NOT_A_SANDBOX`:
//! their clock is real time, and moving it would expire real candidates' invitations.

use async_graphql::{Context, Object, SimpleObject};
use screenhook_domain::{Company, Millis, Permission};

use super::{allowed, engine, types::Ts};
use crate::error::{ApiError, Code};

/// The largest single advance: a year (366 days) reaches any invitation window (6 months at most).
pub const MAX_ADVANCE: Millis = Millis::days(366);

#[derive(Default)]
pub struct SandboxQuery;

#[derive(Default)]
pub struct SandboxMutation;

/// A sandbox company's clock.
#[derive(SimpleObject, Debug, Clone)]
pub struct SandboxClock {
    /// The company's current time: real time plus `offset`.
    pub now: Ts,
    /// How far the company's clock runs ahead of real time, ms.
    pub offset: f64,
}

/// The caller's company, once it is known to be a sandbox.
async fn sandbox_company(ctx: &Context<'_>) -> Result<Company, ApiError> {
    let caller = allowed(ctx, Permission::Admin)?;
    let company = engine(ctx)
        .store
        .company(caller.company())
        .await?
        .ok_or_else(|| ApiError::not_found("company", caller.company().as_ref()))?;
    if !company.sandbox {
        return Err(ApiError::new(
            Code::NotASandbox,
            format!(
                "company {} is not a sandbox company: only sandbox companies have a clock that can be advanced",
                company.id
            ),
        ));
    }
    Ok(company)
}

fn clock_of(ctx: &Context<'_>, company: &Company) -> SandboxClock {
    SandboxClock { now: Ts(company.now(engine(ctx).clock.now())), offset: company.clock_offset.as_millis() as f64 }
}

#[Object]
impl SandboxQuery {
    /// The sandbox company's clock. Needs `admin`; `NOT_A_SANDBOX` for other companies.
    async fn sandbox_clock(&self, ctx: &Context<'_>) -> async_graphql::Result<SandboxClock> {
        let company = sandbox_company(ctx).await?;
        Ok(clock_of(ctx, &company))
    }
}

#[Object]
impl SandboxMutation {
    /// Moves the sandbox company's clock forward by `by` ms (more than 0, at most 366 days),
    /// then fires at once every timer due in the new time (expiries, time limits, integrity
    /// reviews), so their events are queued before the answer. Needs `admin`;
    /// `NOT_A_SANDBOX` for other companies. The clock never moves back.
    async fn advance_sandbox_clock(&self, ctx: &Context<'_>, by: f64) -> async_graphql::Result<SandboxClock> {
        if !by.is_finite() || by <= 0.0 || by > MAX_ADVANCE.as_millis() as f64 {
            return Err(ApiError::invalid(
                "by",
                format!("{by} is not a usable advance"),
                format!("more than 0 and at most {} ms (366 days)", MAX_ADVANCE.as_millis()),
            )
            .into());
        }
        let mut company = sandbox_company(ctx).await?;
        let engine = engine(ctx);
        company.clock_offset = Millis::from_millis(company.clock_offset.as_millis().saturating_add(by.round() as i64));
        engine.update_company(&company).await.map_err(ApiError::from)?;
        engine.fire_due_timers().await.map_err(ApiError::from)?;
        Ok(clock_of(ctx, &company))
    }
}
