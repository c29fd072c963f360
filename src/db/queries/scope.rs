//! Scope, in one place: every read path filters its table through one of these, in SQL, so a
//! row outside the caller's part of the tree never leaves the database (an out-of-scope id and a
//! missing one answer the same 404).

use diesel::pg::Pg;
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::{
    audit_log, contact_group_members, helpers, need_access, needs, org_units, organizations,
    persons, users, volunteer_teams, webhooks,
};
use crate::domain::caller::{Caller, Scope};

/// The caller's organisation, or an id no row has (narrow roles always have one).
fn own_org(caller: &Caller) -> Uuid {
    caller.organization_id.unwrap_or(Uuid::nil())
}

/// Ids of the needs routed to the caller's organisation (referrals, site assignments).
fn routed_needs(caller: &Caller) -> need_access::BoxedQuery<'static, Pg, diesel::sql_types::Uuid> {
    need_access::table
        .filter(need_access::organization_id.eq(own_org(caller)))
        .select(need_access::need_id)
        .into_boxed()
}

/// The persons of a signed-in helper's contact groups.
pub fn group_persons(
    helper: Uuid,
) -> contact_group_members::BoxedQuery<'static, Pg, diesel::sql_types::Uuid> {
    contact_group_members::table
        .filter(contact_group_members::helper_id.eq(helper))
        .select(contact_group_members::person_id)
        .into_boxed()
}

/// Needs the caller sees: its unit and below, or (narrow roles) what was routed to it, or (a
/// helper) the needs of the persons of its contact groups.
pub fn needs(caller: &Caller) -> needs::BoxedQuery<'static, Pg> {
    let q = needs::table.into_boxed();
    if let Some(h) = caller.helper() {
        return q.filter(needs::person_id.eq_any(group_persons(h)));
    }
    if caller.is_narrow() {
        return q.filter(needs::id.eq_any(routed_needs(caller)));
    }
    match caller.scope {
        Scope::All => q,
        Scope::City(c) => q.filter(needs::city_id.eq(c)),
        Scope::Town(t) => q.filter(needs::town_id.eq(t)),
        Scope::Village(v) => q.filter(needs::village_id.eq(v)),
    }
}

/// Persons the caller sees: its unit and below, or (narrow roles) those behind the needs
/// routed to its organisation.
pub fn persons(caller: &Caller) -> persons::BoxedQuery<'static, Pg> {
    let q = persons::table.into_boxed();
    if let Some(h) = caller.helper() {
        return q.filter(persons::id.eq_any(group_persons(h)));
    }
    if caller.is_narrow() {
        return q.filter(
            persons::id.eq_any(
                needs::table
                    .filter(needs::id.eq_any(routed_needs(caller)))
                    .select(needs::person_id),
            ),
        );
    }
    match caller.scope {
        Scope::All => q,
        Scope::City(c) => q.filter(persons::city_id.eq(c)),
        Scope::Town(t) => q.filter(persons::town_id.eq(t)),
        Scope::Village(v) => q.filter(persons::village_id.eq(v)),
    }
}

/// Helpers the caller sees: a village sees its whole town (its groups draw on the town's helpers);
/// a helper itself.
pub fn helpers(caller: &Caller) -> helpers::BoxedQuery<'static, Pg> {
    let q = helpers::table.into_boxed();
    // a helper who signs in sees its own record, not its neighbours' phone numbers
    if let Some(h) = caller.helper() {
        return q.filter(helpers::id.eq(h));
    }
    match (caller.scope, caller.town_id) {
        (Scope::All, _) => q,
        (Scope::City(c), _) => q.filter(helpers::city_id.eq(c)),
        (Scope::Town(t), _) | (Scope::Village(_), Some(t)) => q.filter(helpers::town_id.eq(t)),
        (Scope::Village(v), None) => q.filter(helpers::village_id.eq(v)),
    }
}

/// Units in a scope: the unit and everything below.
pub fn org_units(scope: Scope) -> org_units::BoxedQuery<'static, Pg> {
    let q = org_units::table.into_boxed();
    match scope {
        Scope::All => q,
        Scope::City(c) => q.filter(org_units::city_id.eq(c)),
        Scope::Town(t) => q.filter(org_units::town_id.eq(t)),
        Scope::Village(v) => q.filter(org_units::id.eq(v)),
    }
}

/// Organisations whose unit lies in a scope.
pub fn organizations(scope: Scope) -> organizations::BoxedQuery<'static, Pg> {
    let q = organizations::table.into_boxed();
    match scope {
        Scope::All => q,
        Scope::City(c) => q.filter(organizations::city_id.eq(c)),
        Scope::Town(t) => q.filter(
            organizations::org_unit_id.eq_any(
                org_units::table
                    .filter(org_units::town_id.eq(t))
                    .select(org_units::id),
            ),
        ),
        Scope::Village(v) => q.filter(organizations::org_unit_id.eq(v)),
    }
}

/// Users whose organisation lies in the caller's scope (narrow roles: their own organisation).
pub fn users(caller: &Caller) -> users::BoxedQuery<'static, Pg> {
    let q = users::table.into_boxed();
    if caller.is_narrow() {
        return q.filter(users::organization_id.eq(caller.organization_id));
    }
    let units = organizations::table
        .inner_join(org_units::table)
        .select(organizations::id);
    match caller.scope {
        Scope::All => q,
        Scope::City(c) => q.filter(users::city_id.eq(c)),
        Scope::Town(t) => q.filter(
            users::organization_id.eq_any(
                units
                    .filter(org_units::town_id.eq(t))
                    .select(organizations::id.nullable()),
            ),
        ),
        Scope::Village(v) => q.filter(
            users::organization_id.eq_any(
                units
                    .filter(org_units::id.eq(v))
                    .select(organizations::id.nullable()),
            ),
        ),
    }
}

/// Volunteer teams the caller sees: those of its unit and below, like everything else in the
/// tree (a town sees its own teams and its villages'; a village only its own).
pub fn volunteer_teams(caller: &Caller) -> volunteer_teams::BoxedQuery<'static, Pg> {
    let q = volunteer_teams::table.into_boxed();
    match caller.scope {
        Scope::All => q,
        Scope::City(c) => q.filter(volunteer_teams::city_id.eq(c)),
        Scope::Town(t) => q.filter(volunteer_teams::town_id.eq(t)),
        Scope::Village(v) => q.filter(volunteer_teams::org_unit_id.eq(v)),
    }
}

/// Audit-log rows a scope sees: those about its persons; a city also sees the rows its own users
/// wrote, and rows about its persons whoever wrote them (a deployment admin's reveal of a
/// resident is the city's business too).
pub fn audit_log(scope: Scope) -> audit_log::BoxedQuery<'static, Pg> {
    let q = audit_log::table.into_boxed();
    match scope {
        Scope::All => q,
        Scope::City(c) => q.filter(
            audit_log::city_id.eq(c).or(audit_log::person_id.eq_any(
                persons::table
                    .filter(persons::city_id.eq(c))
                    .select(persons::id.nullable()),
            )),
        ),
        Scope::Town(t) => q.filter(
            audit_log::person_id.eq_any(
                persons::table
                    .filter(persons::town_id.eq(t))
                    .select(persons::id.nullable()),
            ),
        ),
        Scope::Village(v) => q.filter(
            audit_log::person_id.eq_any(
                persons::table
                    .filter(persons::village_id.eq(v))
                    .select(persons::id.nullable()),
            ),
        ),
    }
}

/// Webhooks the caller sees: its city's (every city's for the deployment admin).
pub fn webhooks(caller: &Caller) -> webhooks::BoxedQuery<'static, Pg> {
    let q = webhooks::table.into_boxed();
    match caller.scope {
        Scope::All => q,
        _ => q.filter(webhooks::city_id.eq(caller.city_id.unwrap_or(Uuid::nil()))),
    }
}
