//! Where a claim of due deliveries starts looking. Claims take the oldest due rows, in the due
//! index's order (`next_attempt_at`, `id`). A recorded delivery leaves that index by a new row
//! version, so its old entry stays behind, dead, until a vacuum: a large backlog drains from
//! the index's head, and every claim from the head would walk over everything already drained
//! (4.5 ms per claim halfway through 200,000, and growing). So after a claim that came back
//! full, the process's next claim starts just past the last row it took.
//!
//! Only claims that leave no webhook out use the floor or move it, so behind the floor every
//! row that was due was taken. Rows can still become due there: a lease that ran out, a
//! delivery released, one promoted behind its session's previous one, a paused queue flushed.
//! So the floor is a hint with limits: a claim that finds less than it asked for past the floor
//! also looks from the head; this process's own promotions lower the floor to them, and the
//! other ways it makes work due drop it; and a floor is dropped five seconds after it was first
//! set, so nothing another process made due waits behind it longer than that.

use std::time::{Duration, Instant};

/// A position in the due index: (`next_attempt_at`, `id`).
pub(crate) type Position = (i64, i64);

/// Lowering the floor to this starts claims at the head (every row is past `(-1, 0)`).
pub(crate) const HEAD: Position = (-1, 1);

/// How long a floor is trusted before claims look from the head again.
const TRUSTED_FOR: Duration = Duration::from_secs(5);

#[derive(Debug, Default)]
pub(crate) struct ClaimFloor {
    floor: Option<(Position, Instant)>,
}

impl ClaimFloor {
    /// Where the next claim starts (past this position), or `None`: from the head.
    pub(crate) fn get(&self, now: Instant) -> Option<Position> {
        self.floor.filter(|(_, since)| now.duration_since(*since) < TRUSTED_FOR).map(|(at, _)| at)
    }

    /// After a claim: a full one moves the floor past the last row it took (keeping when the
    /// floor was first set, so it is dropped on time even while every claim comes back full);
    /// anything else means the head holds all that is due, so claims start there again.
    pub(crate) fn claimed(&mut self, now: Instant, full: bool, last: Option<Position>) {
        self.floor = match (full, last, self.get(now)) {
            (true, Some(last), Some(_)) => self.floor.map(|(_, since)| (last, since)),
            (true, Some(last), None) => Some((last, now)),
            _ => None,
        };
    }

    /// Rows became due at `positions` behind the floor: it moves back to just before them.
    pub(crate) fn lower(&mut self, positions: impl IntoIterator<Item = Position>) {
        if let (Some((at, since)), Some(lowest)) = (self.floor, positions.into_iter().min()) {
            self.floor = Some((at.min((lowest.0, lowest.1 - 1)), since));
        }
    }

    pub(crate) fn clear(&mut self) {
        self.floor = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_claim_sets_the_floor_and_anything_else_clears_it() {
        let (mut floor, t0) = (ClaimFloor::default(), Instant::now());
        floor.claimed(t0, true, Some((0, 128)));
        assert_eq!(floor.get(t0), Some((0, 128)));
        floor.claimed(t0, true, Some((0, 256)));
        assert_eq!(floor.get(t0), Some((0, 256)));
        floor.claimed(t0, false, Some((0, 300)));
        assert_eq!(floor.get(t0), None, "a short claim: everything due is at the head");
        floor.claimed(t0, true, None);
        assert_eq!(floor.get(t0), None);
    }

    #[test]
    fn the_floor_is_dropped_in_time_after_it_was_first_set_however_often_it_moves() {
        let (mut floor, t0) = (ClaimFloor::default(), Instant::now());
        floor.claimed(t0, true, Some((0, 10)));
        let later = t0 + TRUSTED_FOR - Duration::from_millis(100);
        floor.claimed(later, true, Some((0, 20)));
        assert_eq!(floor.get(later), Some((0, 20)));
        let after = t0 + TRUSTED_FOR;
        assert_eq!(floor.get(after), None, "trusted from when it was first set");
        floor.claimed(after, true, Some((0, 30)));
        assert_eq!(floor.get(after + Duration::from_millis(999)), Some((0, 30)), "a new floor, trusted anew");
    }

    #[test]
    fn rows_due_behind_the_floor_lower_it_to_just_before_them() {
        let (mut floor, t0) = (ClaimFloor::default(), Instant::now());
        floor.lower([(0, 5)]);
        assert_eq!(floor.get(t0), None, "no floor, nothing to lower");
        floor.claimed(t0, true, Some((0, 500)));
        floor.lower([(0, 700), (0, 320), (0, 410)]);
        assert_eq!(floor.get(t0), Some((0, 319)));
        floor.lower([(0, 900)]);
        assert_eq!(floor.get(t0), Some((0, 319)), "rows ahead of the floor leave it");
        floor.clear();
        assert_eq!(floor.get(t0), None);
    }
}
