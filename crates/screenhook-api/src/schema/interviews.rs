//! Live interviews (CodeSignal documents only their two webhooks): `liveInterview`,
//! `createLiveInterview`, `startLiveInterview`, `finishLiveInterview` and
//! `updateLiveInterviewFeedback`, all behind the `interviews` permission (implied by `admin`).
//! Finishing fires `liveInterviewFinished`; every feedback update fires
//! `liveInterviewFeedbackUpdated`.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use screenhook_domain::{
    Candidate, Feedback, InterviewCommand, InterviewId, InterviewerId, LiveInterview, Permission,
    interview::{FeedbackAttribute, FeedbackCategory},
    payload,
};

use super::{allowed, engine, parse_id, types::Ts};
use crate::error::ApiError;

#[derive(Default)]
pub struct InterviewQuery;

#[derive(Default)]
pub struct InterviewMutation;

/// A live interview of one candidate with one interviewer.
#[derive(SimpleObject)]
#[graphql(name = "LiveInterview")]
pub struct LiveInterviewObj {
    pub id: ID,
    pub candidate_email: String,
    pub candidate_name: String,
    pub interviewer_id: ID,
    /// `scheduled`, `started` or `finished`.
    pub status: String,
    pub start_date: Option<Ts>,
    pub end_date: Option<Ts>,
    pub questions_solved: i32,
    pub questions_attempted: i32,
    /// The dashboard link sent in `liveInterviewFinished`.
    pub url: String,
}

fn view(ctx: &Context<'_>, i: LiveInterview) -> LiveInterviewObj {
    let status = match (i.start_date, i.end_date) {
        (None, _) => "scheduled",
        (Some(_), None) => "started",
        (Some(_), Some(_)) => "finished",
    };
    LiveInterviewObj {
        url: payload::interview_url(&engine(ctx).config.public_url, &i),
        id: ID(i.id.to_string()),
        candidate_email: i.candidate.email.clone(),
        candidate_name: i.candidate.full_name(),
        interviewer_id: ID(i.interviewer_id.to_string()),
        status: status.to_owned(),
        start_date: i.start_date.map(Ts),
        end_date: i.end_date.map(Ts),
        questions_solved: i.questions_solved as i32,
        questions_attempted: i.questions_attempted as i32,
    }
}

#[derive(InputObject)]
pub struct LiveInterviewCandidateInput {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
}

#[derive(InputObject)]
pub struct FeedbackAttributeInput {
    pub name: String,
    pub score: Option<i32>,
    pub notes: Option<String>,
}

#[derive(InputObject)]
pub struct FeedbackCategoryInput {
    pub name: String,
    pub attributes: Vec<FeedbackAttributeInput>,
}

/// The interviewer's feedback, sent whole in `liveInterviewFeedbackUpdated`.
#[derive(InputObject)]
pub struct LiveInterviewFeedbackInput {
    pub general_notes: String,
    pub categories: Option<Vec<FeedbackCategoryInput>>,
    pub recommended_level: Option<String>,
    pub overall_evaluation: Option<String>,
}

fn count(field: &str, value: i32) -> Result<u32, ApiError> {
    u32::try_from(value).map_err(|_| ApiError::invalid(field, format!("{value} is negative"), "0 or more"))
}

fn feedback(input: LiveInterviewFeedbackInput) -> Result<Feedback, ApiError> {
    let categories = input
        .categories
        .map(|cs| {
            cs.into_iter()
                .map(|c| {
                    let attributes = c
                        .attributes
                        .into_iter()
                        .map(|a| {
                            let score =
                                a.score.map(|s| count("feedback.categories.attributes.score", s)).transpose()?;
                            Ok(FeedbackAttribute { name: a.name, score, notes: a.notes })
                        })
                        .collect::<Result<_, ApiError>>()?;
                    Ok(FeedbackCategory { name: c.name, attributes })
                })
                .collect::<Result<_, ApiError>>()
        })
        .transpose()?;
    Ok(Feedback {
        general_notes: input.general_notes,
        categories,
        recommended_level: input.recommended_level,
        overall_evaluation: input.overall_evaluation,
    })
}

async fn command(ctx: &Context<'_>, id: &ID, cmd: InterviewCommand) -> async_graphql::Result<LiveInterviewObj> {
    let caller = allowed(ctx, Permission::Interviews)?;
    let id = parse_id("id", id, InterviewId::parse)?;
    let (interview, _) = engine(ctx).interview_command(caller.company(), &id, cmd).await.map_err(ApiError::from)?;
    Ok(view(ctx, interview))
}

#[Object]
impl InterviewQuery {
    async fn live_interview(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<LiveInterviewObj>> {
        let caller = allowed(ctx, Permission::Interviews)?;
        let iid = parse_id("id", &id, InterviewId::parse)?;
        match engine(ctx).store.interview(caller.company(), &iid).await.map_err(ApiError::from)? {
            Some(i) => Ok(Some(view(ctx, i))),
            None => Err(ApiError::not_found("live interview", id.as_str()).into()),
        }
    }
}

#[Object]
impl InterviewMutation {
    /// Schedules a live interview; nothing fires until it finishes.
    async fn create_live_interview(
        &self,
        ctx: &Context<'_>,
        candidate: LiveInterviewCandidateInput,
        interviewer_id: ID,
    ) -> async_graphql::Result<LiveInterviewObj> {
        let caller = allowed(ctx, Permission::Interviews)?;
        let interviewer = parse_id("interviewerId", &interviewer_id, InterviewerId::parse)?;
        let candidate =
            Candidate { first_name: candidate.first_name, last_name: candidate.last_name, email: candidate.email };
        let created =
            engine(ctx).create_interview(caller.company(), candidate, interviewer).await.map_err(ApiError::from)?;
        Ok(view(ctx, created))
    }

    /// Starts a scheduled interview.
    async fn start_live_interview(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<LiveInterviewObj> {
        command(ctx, &id, InterviewCommand::Start).await
    }

    /// Finishes a started interview and fires `liveInterviewFinished`.
    async fn finish_live_interview(
        &self,
        ctx: &Context<'_>,
        id: ID,
        questions_solved: i32,
        questions_attempted: i32,
    ) -> async_graphql::Result<LiveInterviewObj> {
        let cmd = InterviewCommand::Finish {
            questions_solved: count("questionsSolved", questions_solved)?,
            questions_attempted: count("questionsAttempted", questions_attempted)?,
        };
        command(ctx, &id, cmd).await
    }

    /// Records (replaces) an interviewer's feedback and fires `liveInterviewFeedbackUpdated`.
    async fn update_live_interview_feedback(
        &self,
        ctx: &Context<'_>,
        id: ID,
        interviewer_id: ID,
        feedback: LiveInterviewFeedbackInput,
    ) -> async_graphql::Result<LiveInterviewObj> {
        let interviewer_id = parse_id("interviewerId", &interviewer_id, InterviewerId::parse)?;
        let cmd = InterviewCommand::UpdateFeedback { interviewer_id, feedback: self::feedback(feedback)? };
        command(ctx, &id, cmd).await
    }
}
