//! SLA arithmetic (时限): which positions a need can stand in with a deadline, and the hours
//! the spec gives each by default (urgent needs get half).

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::need::{Level, Loop, State, Urgency};

/// Where a need stands, as far as its deadline goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Its state.
    pub state: State,
    /// Its loop (none before it is registered).
    pub loop_: Option<Loop>,
    /// Its level.
    pub level: Level,
    /// normal | urgent.
    pub urgency: Urgency,
}

/// Every (state, loop, level) a need can stand in with a deadline.
pub fn reachable() -> Vec<(State, Option<Loop>, Level)> {
    use Level::*;
    use State::*;
    let p = Some(Loop::Policy);
    let s = Some(Loop::Social);
    vec![
        (Reported, None, Village),
        (Registered, p, Village),
        (Referred, p, Town),
        (InProgress, p, Town),
        (Resolved, p, Town),
        // a returned policy need is registered at its village again; after return it may be
        // referred by the town, so the registered-at-town case cannot arise
        (Registered, s, Village),
        (Escalated, s, Town),
        (Escalated, s, City),
        (InProgress, s, Village),
        (InProgress, s, Town),
        (InProgress, s, City),
        (Resolved, s, Village),
        (Resolved, s, Town),
        (Resolved, s, City),
    ]
}

/// The spec's default hours for a (state, loop, level); urgent needs get half.
pub fn default_hours(state: State, loop_: Option<Loop>, level: Level, urgency: Urgency) -> i32 {
    let normal = match (state, loop_, level) {
        (State::Reported, _, _) => 48,
        (State::Resolved, _, _) => 168,
        (State::Registered, Some(Loop::Policy), _) => 72,
        (State::Referred, _, _) => 120,
        (State::InProgress, Some(Loop::Policy), _) => 720,
        (_, _, Level::Village) => 168,
        (_, _, Level::Town) => 360,
        (_, _, Level::City) => 720,
    };
    match urgency {
        Urgency::Normal => normal,
        Urgency::Urgent => normal / 2,
    }
}

/// Where an open need stands against its deadline, as the inbox sorts it into buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Standing {
    /// Marked overdue (督办), or past its deadline.
    pub overdue: bool,
    /// Not overdue, and due before the end of today (in the city's time zone).
    pub due_today: bool,
    /// Not overdue, with less than a quarter of the time between its last transition and its
    /// deadline left.
    pub at_risk: bool,
}

impl Standing {
    /// Whether a need due at `due`, `marked` overdue or not, is overdue at `now`.
    pub fn overdue_at(due: Option<DateTime<Utc>>, marked: bool, now: DateTime<Utc>) -> bool {
        marked || due.is_some_and(|d| d < now)
    }

    /// The standing at `now` of a need due at `due` (none: no deadline), `marked` overdue or
    /// not, in its state since `since`; today ends at `end_of_today`.
    pub fn of(
        due: Option<DateTime<Utc>>,
        marked: bool,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
        end_of_today: DateTime<Utc>,
    ) -> Standing {
        let overdue = Standing::overdue_at(due, marked, now);
        let Some(due) = due else {
            return Standing {
                overdue,
                ..Standing::default()
            };
        };
        Standing {
            overdue,
            due_today: !overdue && due < end_of_today,
            // left < allowed / 4, in whole arithmetic: 4 × left < allowed
            at_risk: !overdue && (due - now) * 4 < due - since,
        }
    }
}

/// The first instant after today in time zone `tz`, as UTC.
pub fn end_of_day(now: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
    let tomorrow = now.with_timezone(&tz).date_naive() + Duration::days(1);
    tz.from_local_datetime(&tomorrow.and_time(NaiveTime::MIN))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now + Duration::days(1))
}

#[cfg(test)]
mod standing_tests {
    use super::*;

    fn at(h: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::hours(h)
    }

    #[test]
    fn overdue_due_today_and_at_risk_are_told_apart() {
        let (now, end) = (at(100), at(110));
        // past due, or marked: overdue and nothing else
        let s = Standing::of(Some(at(99)), false, at(0), now, end);
        assert_eq!((s.overdue, s.due_today, s.at_risk), (true, false, false));
        let s = Standing::of(Some(at(500)), true, at(0), now, end);
        assert_eq!((s.overdue, s.due_today, s.at_risk), (true, false, false));
        // due before the end of today, and with 5 of 105 hours left: due today and at risk
        let s = Standing::of(Some(at(105)), false, at(0), now, end);
        assert_eq!((s.overdue, s.due_today, s.at_risk), (false, true, true));
        // 20 of 40 hours left: neither
        let s = Standing::of(Some(at(120)), false, at(80), now, end);
        assert_eq!(s, Standing::default());
        // 20 of 100 hours left, due tomorrow: at risk only
        let s = Standing::of(Some(at(120)), false, at(20), now, end);
        assert_eq!((s.overdue, s.due_today, s.at_risk), (false, false, true));
    }

    #[test]
    fn today_ends_at_midnight_in_the_city() {
        // 2026-03-01 20:00 UTC is already 2 March, 04:00 in Shanghai: today ends 2 March 16:00 UTC
        let now = DateTime::parse_from_rfc3339("2026-03-01T20:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        let end = end_of_day(now, chrono_tz::Asia::Shanghai);
        assert_eq!(end.to_rfc3339(), "2026-03-02T16:00:00+00:00");
    }
}
