//! Persons on the move (SPEC §6): a transfer to another village carries the person's open needs
//! with it, and a death or a move out of the city withdraws them. Both run inside the person's
//! own transaction (`service::persons::patch`), so the person and their needs never disagree.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use serde_json::json;
use uuid::Uuid;

use super::events;
use super::needs::{apply, Extras, Step};
use super::notifications;
use crate::db::models::needs::{NeedRow, NewEvent};
use crate::db::models::places::Village;
use crate::db::queries::needs as queries;
use crate::db::queries::org;
use crate::domain::caller::Actor;
use crate::domain::need::{Action, Level, Relation};
use crate::domain::roles::PersonStatus;
use crate::error::{Error, Result};

/// Carries each open need of `person` to village `to`: its place (village, town, city), and,
/// where the unit of the need's level changes, its handler to the organisation of the same kind
/// there (a village station's need to the new village's station, a town department's to the new
/// town's department of the same remit); a need held higher up keeps its handler. A new handler
/// starts without an assignee. Each need gets a `transfer` event (its version stays: no state
/// changes); a need whose handler changed is on a new desk, whose staff are told.
pub async fn carry(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    person: Uuid,
    to: Village,
    at: DateTime<Utc>,
) -> Result<usize> {
    let open = queries::lock_open_of_person(conn, person).await?;
    let carried = open.len();
    for mut n in open {
        let from_village = n.village_id;
        let from_handler = n.handler_organization_id;
        let old_units = units_of(&n);
        n.village_id = to.id;
        n.town_id = to.town_id;
        n.city_id = to.city_id;
        let new_units = units_of(&n);
        let unit = |level: Level, units: (Uuid, Uuid, Uuid)| match level {
            Level::Village => units.0,
            Level::Town => units.1,
            Level::City => units.2,
        };
        if unit(n.level, old_units) != unit(n.level, new_units) {
            n.handler_organization_id =
                counterpart(conn, &n, from_handler, unit(n.level, new_units)).await?;
        }
        if let (Some(before), Some(level)) = (n.referred_from_handler_id, n.referred_from_level) {
            if unit(level, old_units) != unit(level, new_units) {
                n.referred_from_handler_id =
                    Some(counterpart(conn, &n, before, unit(level, new_units)).await?);
            }
        }
        let handler_changed = n.handler_organization_id != from_handler;
        if handler_changed {
            n.assignee_user_id = None;
            // a department sees the needs routed to it
            queries::grant_access(conn, n.handler_organization_id, n.id).await?;
        }
        n.updated_at = at;
        queries::save_move(conn, &n).await?;
        let payload = json!({
            "from_village_id": from_village,
            "to_village_id": to.id,
            "from_handler_organization_id": from_handler,
            "to_handler_organization_id": n.handler_organization_id,
        });
        events::record(
            conn,
            NewEvent {
                need: &n,
                action: "transfer",
                from: Some(n.state),
                actor,
                at,
                payload,
            },
        )
        .await?;
        if handler_changed {
            notifications::carried(conn, &n, actor.user_id, at).await?;
        }
    }
    Ok(carried)
}

/// Withdraws each open need of a person who died or moved out of the city, with a `withdraw`
/// event whose payload gives the reason. The person's record decides it, whoever recorded the
/// status: the state machine is asked as for a withdrawal by the city's admin.
pub async fn withdraw_open(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    person: Uuid,
    status: PersonStatus,
) -> Result<usize> {
    let reason = match status {
        PersonStatus::Deceased => "残疾人已去世",
        PersonStatus::MovedOut => "残疾人已迁出",
        PersonStatus::Active => return Ok(0),
    };
    let open = queries::lock_open_of_person(conn, person).await?;
    let withdrawn = open.len();
    let relation = Relation {
        admin: true,
        ..Relation::default()
    };
    let extras = Extras::default();
    for n in open {
        let step = Step {
            action: Action::Withdraw,
            relation,
            extras: &extras,
            actor,
            event: "withdraw",
            payload: json!({"reason": reason, "person_status": status.as_str()}),
        };
        apply(conn, n, step).await?;
    }
    Ok(withdrawn)
}

/// (village, town, city) of a need.
fn units_of(n: &NeedRow) -> (Uuid, Uuid, Uuid) {
    (n.village_id, n.town_id, n.city_id)
}

/// The organisation at `unit` of the same kind as `org`, or 422 on `village_id` when the new
/// place has none (a town without the department that holds one of the person's needs).
async fn counterpart(
    conn: &mut AsyncPgConnection,
    n: &NeedRow,
    org: Uuid,
    unit: Uuid,
) -> Result<Uuid> {
    org::same_kind_at(conn, org, unit).await?.ok_or_else(|| {
        Error::field(
            "village_id",
            format!(
                "the new place has no organisation of the kind that holds open need {}; create it first",
                n.case_number
            ),
        )
    })
}
