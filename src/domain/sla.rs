//! SLA arithmetic (时限): which positions a need can stand in with a deadline, and the hours
//! the spec gives each by default (urgent needs get half).

use super::need::{Level, Loop, State, Urgency};

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
