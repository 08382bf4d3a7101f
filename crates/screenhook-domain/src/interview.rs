//! Live interviews: just enough state to fire `liveInterviewFinished` and
//! `liveInterviewFeedbackUpdated`, the two live-interview webhooks CodeSignal documents.
//!
//! Created → started → finished fires `liveInterviewFinished` (the interviewer finishes it or
//! it times out — both are the same command here). Feedback may be added or changed at any
//! stage after creation and fires `liveInterviewFeedbackUpdated` each time.

use serde::{Deserialize, Serialize};

use crate::{
    change::{Change, Expected},
    error::DomainError,
    event::{DomainEvent, EventKind},
    ids::{CompanyId, InterviewId, InterviewerId},
    model::{Candidate, LiveInterview},
    payload,
    session::Ctx,
    time::Timestamp,
    validate,
};

/// `feedback.categories[].attributes[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedbackAttribute {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub score: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub notes: Option<String>,
}

/// `feedback.categories[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedbackCategory {
    pub name: String,
    pub attributes: Vec<FeedbackAttribute>,
}

/// `feedback` of `liveInterviewFeedbackUpdated`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Feedback {
    pub general_notes: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub categories: Option<Vec<FeedbackCategory>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub recommended_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub overall_evaluation: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum InterviewCommand {
    Create { id: InterviewId, company_id: CompanyId, candidate: Candidate, interviewer_id: InterviewerId },
    Start,
    Finish { questions_solved: u32, questions_attempted: u32 },
    UpdateFeedback { interviewer_id: InterviewerId, feedback: Feedback },
}

impl InterviewCommand {
    pub fn name(&self) -> &'static str {
        match self {
            InterviewCommand::Create { .. } => "createInterview",
            InterviewCommand::Start => "startInterview",
            InterviewCommand::Finish { .. } => "finishInterview",
            InterviewCommand::UpdateFeedback { .. } => "updateInterviewFeedback",
        }
    }
}

fn stage(i: &LiveInterview) -> &'static str {
    match (i.start_date, i.end_date) {
        (None, _) => "scheduled",
        (Some(_), None) => "started",
        (Some(_), Some(_)) => "finished",
    }
}

fn event(kind: EventKind, i: &LiveInterview, payload: serde_json::Value, now: Timestamp) -> DomainEvent {
    DomainEvent { kind, triggered_on: now, company_id: i.company_id.clone(), session_id: None, test_id: None, payload }
}

fn write(old: &LiveInterview, mut new: LiveInterview, events: Vec<DomainEvent>) -> Change {
    new.version = old.version + 1;
    Change { interviews: vec![(new, Expected::Version(old.version))], events, ..Change::default() }
}

/// Decides a live-interview command.
pub fn decide(
    state: Option<&LiveInterview>,
    cmd: InterviewCommand,
    ctx: &Ctx<'_>,
    now: Timestamp,
) -> Result<Change, DomainError> {
    let name = cmd.name();
    match (state, cmd) {
        (None, InterviewCommand::Create { id, company_id, candidate, interviewer_id }) => {
            let candidate = Candidate {
                first_name: validate::text("candidateFirstName", &candidate.first_name, true)?,
                last_name: validate::text("candidateLastName", &candidate.last_name, false)?,
                email: validate::email(&candidate.email)?,
            };
            let interview = LiveInterview {
                id,
                company_id,
                version: 1,
                candidate,
                interviewer_id,
                start_date: None,
                end_date: None,
                questions_solved: 0,
                questions_attempted: 0,
                feedback: None,
            };
            Ok(Change { interviews: vec![(interview, Expected::New)], ..Change::default() })
        }
        (Some(_), InterviewCommand::Create { .. }) => {
            Err(DomainError::AlreadyExists { aggregate: "interview", command: name })
        }
        (None, _) => Err(DomainError::NotFound { aggregate: "interview", command: name }),
        (Some(i), InterviewCommand::Start) if i.start_date.is_none() => {
            Ok(write(i, LiveInterview { start_date: Some(now), ..i.clone() }, vec![]))
        }
        (Some(i), InterviewCommand::Finish { questions_solved, questions_attempted })
            if i.start_date.is_some() && i.end_date.is_none() =>
        {
            if questions_solved > questions_attempted {
                return Err(DomainError::invalid(
                    "questionsSolved",
                    format!("{questions_solved} is more than the {questions_attempted} questions attempted"),
                    format!("0–{questions_attempted}"),
                ));
            }
            let next = LiveInterview { end_date: Some(now), questions_solved, questions_attempted, ..i.clone() };
            let ev = event(
                EventKind::LiveInterviewFinished,
                &next,
                payload::live_interview_finished(&next, ctx.public_url),
                now,
            );
            Ok(write(i, next, vec![ev]))
        }
        (Some(i), InterviewCommand::UpdateFeedback { interviewer_id, feedback }) => {
            let value = serde_json::to_value(&feedback)
                .map_err(|e| DomainError::invalid("feedback", e.to_string(), "a feedback object"))?;
            let next = LiveInterview { feedback: Some(value), ..i.clone() };
            let ev = event(
                EventKind::LiveInterviewFeedbackUpdated,
                &next,
                payload::live_interview_feedback_updated(&next, &interviewer_id),
                now,
            );
            Ok(write(i, next, vec![ev]))
        }
        (Some(i), InterviewCommand::Start | InterviewCommand::Finish { .. }) => {
            Err(DomainError::IllegalTransition { aggregate: "interview", from: stage(i), command: name })
        }
    }
}
