//! The Skills Evaluation Framework catalogue and the pure scoring rules.
//!
//! CodeSignal names four frameworks (General Coding, Machine Learning, Data Analytics, System
//! Design) but publishes neither their content nor their cooldown classes, so the
//! numbers below are ours, chosen to be plausible and stable:
//!
//! - **Durations**: General Coding is 70 minutes (the GCA's published length); the others are
//!   our choice.
//! - **Cooldown classes** (CodeSignal names three classes but not which framework is in which):
//!   General Coding is the most retaken evaluation, so it gets the most permissive class
//!   (3 per 180 days, at most 2 per 30 days); Data Analytics gets 2 per 180 days; Machine
//!   Learning and System Design, long senior-level evaluations, get 1 per 180 days.
//! - **Max raw score**: General Coding keeps the 1300 points of the Certify-era sample
//!   (the legacy Certify payload's `maxScore: 1300`); the others are out of 1000, like the old
//!   framework raw scores.
//!
//! # Scoring (inferred; CodeSignal does not publish the real conversion)
//! With `f = score / max_score`:
//! - Assessment Score (`codingScore2023`) = `200 + round(400·f)` when `score > 0`, else `0`
//!   (the `CodingScore` scalar is 0 when nothing was submitted; we treat a raw 0 as that case).
//! - Deprecated original-scale `codingScore` = `300 + round(550·f)` when `score > 0`, else `0`.
//!   CodeSignal's sample pair (820 ↔ 575) is not reproduced exactly; both are linear in `f`.
//! - Skill-area labels, from the area's fraction of its possible points: **Expert** ≥ 1.0 and
//!   **Advanced** ≥ 0.67 are CodeSignal's; **Intermediate** ≥ 0.34 and **Beginner** below
//!   that are our continuation of the same thirds.

use serde::Serialize;

use crate::{
    ids::FrameworkId,
    model::{SkillArea, SkillLabel},
    time::{Millis, Timestamp},
};

/// `ScoringModelType` (the `behavioral` type is out of scope).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ScoringModelType {
    /// The score is the sum of task scores.
    Raw,
    /// The standardized Assessment Score.
    CodingScore2023,
}

/// `ScoreRange {min, max}`, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct ScoreRange {
    pub min: u32,
    pub max: u32,
}

/// `ScoringModel {type, scoreRange}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct ScoringModel {
    #[serde(rename = "type")]
    pub kind: ScoringModelType,
    #[serde(rename = "scoreRange")]
    pub score_range: ScoreRange,
}

impl ScoringModel {
    /// The model of every framework: Assessment Score 200–600.
    pub const CODING_SCORE_2023: ScoringModel =
        ScoringModel { kind: ScoringModelType::CodingScore2023, score_range: ScoreRange { min: 200, max: 600 } };

    /// The model of a custom test: the raw score out of `max`.
    pub const fn raw(max: u32) -> ScoringModel {
        ScoringModel { kind: ScoringModelType::Raw, score_range: ScoreRange { min: 0, max } }
    }
}

/// How often a candidate may attempt a framework (CodeSignal's three cooldown classes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum CooldownClass {
    /// 1 attempt per 180 days.
    OnePer180Days,
    /// 2 attempts per 180 days.
    TwoPer180Days,
    /// 3 attempts per 180 days, at most 2 of them within 30 days.
    ThreePer180DaysTwoPer30,
}

impl CooldownClass {
    /// Human wording, used in errors.
    pub fn describe(self) -> &'static str {
        match self {
            CooldownClass::OnePer180Days => "1 attempt per 180 days",
            CooldownClass::TwoPer180Days => "2 attempts per 180 days",
            CooldownClass::ThreePer180DaysTwoPer30 => "3 attempts per 180 days, at most 2 per 30 days",
        }
    }

    fn windows(self) -> &'static [(usize, i64)] {
        match self {
            CooldownClass::OnePer180Days => &[(1, 180)],
            CooldownClass::TwoPer180Days => &[(2, 180)],
            CooldownClass::ThreePer180DaysTwoPer30 => &[(3, 180), (2, 30)],
        }
    }

    /// Whether a new attempt may start at `now`, given the start times of the candidate's
    /// previous attempts of the framework. `Err` carries the number of attempts inside the
    /// binding window and the earliest time a new attempt is allowed.
    pub fn check(self, previous: &[Timestamp], now: Timestamp) -> Result<(), (usize, Timestamp)> {
        let mut refusal: Option<(usize, Timestamp)> = None;
        for &(limit, days) in self.windows() {
            let window = Millis::days(days);
            let mut inside: Vec<Timestamp> =
                previous.iter().copied().filter(|t| *t <= now && now.since(*t) < window).collect();
            if inside.len() >= limit {
                inside.sort();
                // Once the (len - limit + 1)-th oldest attempt leaves the window, one slot frees up.
                let retry = inside[inside.len() - limit].plus(window);
                if refusal.is_none_or(|(_, r)| retry > r) {
                    refusal = Some((inside.len(), retry));
                }
            }
        }
        match refusal {
            Some(r) => Err(r),
            None => Ok(()),
        }
    }
}

/// One skill area of a framework.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FrameworkSkillArea {
    pub name: &'static str,
    pub questions: u32,
    /// Points available in this area; the framework's areas sum to its max raw score.
    pub max_points: u32,
}

/// A Skills Evaluation Framework.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Framework {
    pub id: &'static str,
    pub title: &'static str,
    pub duration: Millis,
    pub cooldown: CooldownClass,
    pub scoring_model: ScoringModel,
    pub max_raw_score: u32,
    pub skill_areas: &'static [FrameworkSkillArea],
}

const fn area(name: &'static str, questions: u32, max_points: u32) -> FrameworkSkillArea {
    FrameworkSkillArea { name, questions, max_points }
}

static CATALOGUE: [Framework; 4] = [
    Framework {
        id: "general-coding",
        title: "General Coding Framework",
        duration: Millis::minutes(70),
        cooldown: CooldownClass::ThreePer180DaysTwoPer30,
        scoring_model: ScoringModel::CODING_SCORE_2023,
        max_raw_score: 1300,
        skill_areas: &[
            area("Basic Coding", 1, 150),
            area("Data Manipulation", 1, 250),
            area("Implementation", 1, 400),
            area("Problem Solving", 1, 500),
        ],
    },
    Framework {
        id: "machine-learning",
        title: "Machine Learning Framework",
        duration: Millis::minutes(90),
        cooldown: CooldownClass::OnePer180Days,
        scoring_model: ScoringModel::CODING_SCORE_2023,
        max_raw_score: 1000,
        skill_areas: &[
            area("ML Fundamentals", 3, 300),
            area("Data Processing", 2, 300),
            area("Model Evaluation", 2, 400),
        ],
    },
    Framework {
        id: "data-analytics",
        title: "Data Analytics Framework",
        duration: Millis::minutes(75),
        cooldown: CooldownClass::TwoPer180Days,
        scoring_model: ScoringModel::CODING_SCORE_2023,
        max_raw_score: 1000,
        skill_areas: &[
            area("SQL", 2, 400),
            area("Data Wrangling", 2, 300),
            area("Statistics and Visualization", 2, 300),
        ],
    },
    Framework {
        id: "system-design",
        title: "System Design Framework",
        duration: Millis::minutes(60),
        cooldown: CooldownClass::OnePer180Days,
        scoring_model: ScoringModel::CODING_SCORE_2023,
        max_raw_score: 1000,
        skill_areas: &[
            area("Requirements and APIs", 1, 250),
            area("Data Modeling", 1, 250),
            area("Scalability", 1, 250),
            area("Reliability", 1, 250),
        ],
    },
];

/// Every framework shipped with the product.
pub fn catalogue() -> &'static [Framework] {
    &CATALOGUE
}

/// The framework with this id, if it exists.
pub fn framework(id: &FrameworkId) -> Option<&'static Framework> {
    CATALOGUE.iter().find(|f| f.id == id.as_str())
}

impl Framework {
    /// The framework's id as a typed id (catalogue ids are valid by construction).
    pub fn framework_id(&self) -> FrameworkId {
        FrameworkId::parse(self.id).expect("catalogue ids are valid ids")
    }
}

fn scaled(score: u32, max: u32, base: u32, span: u32) -> u32 {
    if score == 0 || max == 0 {
        return 0;
    }
    let score = u64::from(score.min(max));
    // round(span·score/max) in integers: (2·span·score + max) / (2·max).
    let step = (2 * u64::from(span) * score + u64::from(max)) / (2 * u64::from(max));
    base + step as u32
}

/// Raw score → Assessment Score: `200 + round(400·score/max)`, or 0 when `score` is 0.
pub fn assessment_score(score: u32, max: u32) -> u32 {
    scaled(score, max, 200, 400)
}

/// Raw score → deprecated original-scale `codingScore`: `300 + round(550·score/max)`, or 0.
pub fn legacy_coding_score(score: u32, max: u32) -> u32 {
    scaled(score, max, 300, 550)
}

/// Points in an area → its label (Expert ≥ 100 %, Advanced ≥ 67 %, Intermediate ≥ 34 %).
pub fn skill_label(points: u32, max_points: u32) -> SkillLabel {
    let (points, max) = (u64::from(points), u64::from(max_points.max(1)));
    if points >= max {
        SkillLabel::Expert
    } else if points * 100 >= 67 * max {
        SkillLabel::Advanced
    } else if points * 100 >= 34 * max {
        SkillLabel::Intermediate
    } else {
        SkillLabel::Beginner
    }
}

/// The labelled skill areas of a result. With per-area points (one per area, in catalogue
/// order) each area is labelled on its own; without them every area gets the label of the
/// overall fraction `score / max_raw_score`.
pub fn skill_areas(framework: &Framework, score: u32, area_points: &[u32]) -> Vec<SkillArea> {
    framework
        .skill_areas
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let label = match area_points.get(i) {
                Some(p) => skill_label(*p, a.max_points),
                None => skill_label(score, framework.max_raw_score),
            };
            SkillArea { name: a.name.to_owned(), label, questions: a.questions }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_consistent() {
        for f in catalogue() {
            assert_eq!(f.skill_areas.iter().map(|a| a.max_points).sum::<u32>(), f.max_raw_score, "{}", f.id);
            assert_eq!(framework(&f.framework_id()).map(|g| g.id), Some(f.id));
        }
        assert_eq!(catalogue()[0].skill_areas.len(), 4);
        assert!(framework(&FrameworkId::parse("nope").unwrap()).is_none());
    }

    #[test]
    fn scores_map_onto_their_ranges() {
        assert_eq!(assessment_score(0, 1300), 0);
        assert_eq!(assessment_score(1300, 1300), 600);
        assert_eq!(assessment_score(650, 1300), 400);
        assert_eq!(assessment_score(1, 1300), 200);
        assert_eq!(assessment_score(5000, 1300), 600);
        assert_eq!(legacy_coding_score(1000, 1000), 850);
        assert_eq!(legacy_coding_score(0, 1000), 0);
        assert_eq!(legacy_coding_score(1, 1000), 301);
    }

    #[test]
    fn labels_follow_thresholds() {
        assert_eq!(skill_label(100, 100), SkillLabel::Expert);
        assert_eq!(skill_label(99, 100), SkillLabel::Advanced);
        assert_eq!(skill_label(67, 100), SkillLabel::Advanced);
        assert_eq!(skill_label(66, 100), SkillLabel::Intermediate);
        assert_eq!(skill_label(34, 100), SkillLabel::Intermediate);
        assert_eq!(skill_label(33, 100), SkillLabel::Beginner);
    }

    #[test]
    fn cooldown_classes() {
        let day = |n: i64| Timestamp::from_millis(0).plus(Millis::days(n));
        let one = CooldownClass::OnePer180Days;
        assert!(one.check(&[], day(200)).is_ok());
        assert_eq!(one.check(&[day(100)], day(200)), Err((1, day(280))));
        assert!(one.check(&[day(10)], day(200)).is_ok());
        let two = CooldownClass::TwoPer180Days;
        assert!(two.check(&[day(100)], day(200)).is_ok());
        assert_eq!(two.check(&[day(100), day(150)], day(200)), Err((2, day(280))));
        let three = CooldownClass::ThreePer180DaysTwoPer30;
        assert!(three.check(&[day(100), day(150)], day(200)).is_ok());
        assert_eq!(three.check(&[day(190), day(195)], day(200)), Err((2, day(220))));
        assert_eq!(three.check(&[day(100), day(150), day(160)], day(200)), Err((3, day(280))));
    }
}
