//! A city's SLA policy entries as written.

use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::sla_policies;

/// One stored entry: the hours allowed in a (state, loop, level, urgency) of a city.
#[derive(Debug, Insertable)]
#[diesel(table_name = sla_policies)]
pub struct NewSlaPolicy {
    /// The city.
    pub city_id: Uuid,
    /// State word.
    pub state: &'static str,
    /// Loop word ('' for none).
    pub loop_: &'static str,
    /// Level word.
    pub level: &'static str,
    /// normal | urgent.
    pub urgency: &'static str,
    /// Hours.
    pub hours: i32,
}
