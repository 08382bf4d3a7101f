//! Certify's coding score (300–850, or 0) converted to the Assessment Score (200–600, or 0).
//!
//! CodeSignal converted historical scores automatically but never published the table.
//! What is known: the old scale is
//! 300–850 (the GraphQL and webhook docs; the GCA's own 600–850 lies inside it), the new one
//! 200–600, 0 means nothing was submitted on both, and one published pair, 820 ↔ 575 (the
//! webhook samples' `codingScore` next to `versionedCodingScore`).
//!
//! The mapping is therefore **ours**: piecewise linear through the three points we can justify —
//! the ends of the two ranges and the published pair — rounded half up:
//!
//! | Certify | Assessment Score |
//! |---|---|
//! | 0 | 0 |
//! | 300 | 200 |
//! | 820 | 575 |
//! | 850 | 600 |
//!
//! so `300..=820` maps onto `200..=575` (375/520 of a point per point) and `820..=850` onto
//! `575..=600` (25/30). Both segments rise, so the mapping is monotone (never decreasing), and it
//! stays inside 200–600. A non-linear table would fit the pair just as well; lacking data, the
//! simplest curve through the known points is the honest one.

use std::fmt;

/// The lowest non-zero Certify coding score.
pub const CERTIFY_MIN: u32 = 300;
/// The highest Certify coding score.
pub const CERTIFY_MAX: u32 = 850;

/// The points the mapping runs through, `(Certify, Assessment Score)`, in rising order.
pub const KNOTS: [(u32, u32); 3] = [(CERTIFY_MIN, 200), (820, 575), (CERTIFY_MAX, 600)];

/// A Certify coding score: 0 (nothing submitted) or 300–850.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CertifyCodingScore(u32);

/// Why a number is not a Certify coding score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0} is not a Certify coding score")]
pub struct NotACodingScore(pub i64);

impl CertifyCodingScore {
    /// What a score may be, for error messages.
    pub const ALLOWED: &'static str = "0 (nothing submitted) or an integer from 300 to 850";

    pub fn parse(value: i64) -> Result<Self, NotACodingScore> {
        match u32::try_from(value) {
            Ok(v) if v == 0 || (CERTIFY_MIN..=CERTIFY_MAX).contains(&v) => Ok(CertifyCodingScore(v)),
            _ => Err(NotACodingScore(value)),
        }
    }

    pub fn value(self) -> u32 {
        self.0
    }

    /// The converted Assessment Score (`codingScore2023`): 0 for 0, else 200–600.
    pub fn assessment_score(self) -> u32 {
        if self.0 == 0 {
            return 0;
        }
        let segment = KNOTS.windows(2).find(|w| self.0 <= w[1].0).expect("a parsed score is at most the last knot");
        let ((x0, y0), (x1, y1)) = (segment[0], segment[1]);
        // y0 + round((y1 − y0)·(x − x0)/(x1 − x0)), rounded half up in integers.
        let (rise, run, along) = (y1 - y0, x1 - x0, self.0 - x0);
        y0 + (2 * rise * along + run) / (2 * run)
    }
}

impl fmt::Display for CertifyCodingScore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn converted(value: i64) -> u32 {
        CertifyCodingScore::parse(value).unwrap().assessment_score()
    }

    #[test]
    fn the_mapping_table() {
        let table = [
            (0, 0),
            (300, 200),
            (301, 201),
            (400, 272),
            (500, 344),
            (600, 416),
            (650, 452),
            (700, 488),
            (750, 525),
            (793, 556),
            (800, 561),
            (820, 575),
            (823, 578),
            (835, 588),
            (849, 599),
            (850, 600),
        ];
        for (certify, expected) in table {
            assert_eq!(converted(certify), expected, "Certify {certify}");
        }
    }

    #[test]
    fn the_mapping_is_monotone_and_in_range() {
        let mut previous = converted(CERTIFY_MIN.into());
        assert_eq!(previous, 200);
        for certify in CERTIFY_MIN + 1..=CERTIFY_MAX {
            let score = converted(certify.into());
            assert!((200..=600).contains(&score), "Certify {certify} → {score}");
            assert!(score >= previous, "Certify {certify} → {score} is below {previous}");
            previous = score;
        }
        assert_eq!(previous, 600);
    }

    #[test]
    fn only_zero_and_the_old_range_are_scores() {
        for bad in [-1, 1, 299, 851, 1000, i64::from(u32::MAX) + 1] {
            assert_eq!(CertifyCodingScore::parse(bad), Err(NotACodingScore(bad)));
        }
        assert_eq!(CertifyCodingScore::parse(850).unwrap().value(), 850);
    }
}
