//! Live interviews: created by the company, started and finished by the interview room, and
//! given feedback by interviewers. Finishing fires `liveInterviewFinished`; each feedback
//! update fires `liveInterviewFeedbackUpdated`.

use screenhook_domain::{Candidate, CompanyId, InterviewCommand, InterviewId, InterviewerId, LiveInterview, interview};
use screenhook_store::{Applied, time_ordered_id};

use crate::{Engine, EngineError};

fn new_interview_id() -> InterviewId {
    InterviewId::parse(time_ordered_id("", 10)).expect("generated ids use the id alphabet")
}

impl Engine {
    /// Schedules a live interview of `candidate` with `interviewer`; nothing fires yet.
    pub async fn create_interview(
        &self,
        company: &CompanyId,
        candidate: Candidate,
        interviewer: InterviewerId,
    ) -> Result<LiveInterview, EngineError> {
        let id = new_interview_id();
        let cmd = InterviewCommand::Create {
            id: id.clone(),
            company_id: company.clone(),
            candidate,
            interviewer_id: interviewer,
        };
        let now = self.company_now(company).await?;
        let change = interview::decide(None, cmd, &self.ctx(), now)?;
        let created = change.interviews.first().map(|(i, _)| i.clone()).expect("a creation writes the interview");
        self.store.apply(change).await?;
        Ok(created)
    }

    /// Starts or finishes an interview, or records feedback on it; the interview as it is now.
    pub async fn interview_command(
        &self,
        company: &CompanyId,
        id: &InterviewId,
        cmd: InterviewCommand,
    ) -> Result<(LiveInterview, Applied), EngineError> {
        self.commit(|| async {
            let current = self
                .store
                .interview(company, id)
                .await?
                .ok_or_else(|| EngineError::NotFound { what: "live interview", id: id.to_string() })?;
            let now = self.company_now(company).await?;
            let change = interview::decide(Some(&current), cmd.clone(), &self.ctx(), now)?;
            let next = change.interviews.first().map(|(i, _)| i.clone()).unwrap_or(current);
            Ok((change, next))
        })
        .await
    }
}
