//! Campaigns, donations, allocations to needs, and the ledger behind them. Every movement is a
//! ledger row ([`ledger::append`]) written under the campaign's lock, in one transaction with
//! the need's event where a need is involved.

use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::models::campaigns::CampaignRow;
use crate::db::models::ledger::LedgerEntry;
use crate::db::models::needs::NewEvent;
use crate::db::queries::needs::{find_in_scope, lock};
use crate::db::queries::{campaigns, ledger as entries};
use crate::domain::caller::Actor;
use crate::domain::caller::Caller;
use crate::domain::need::{Category, Loop};
use crate::domain::roles::Role;
use crate::error::{Error, FieldError, Result};
use crate::service::city;
use crate::service::events::record;
use crate::service::ledger::{append, lock_campaign, LedgerRow};
use crate::service::page::{list_query, Keyset};

/// Roles that run campaigns and record donations.
const FUNDRAISERS: &[Role] = &[Role::Admin, Role::AssociationStaff, Role::President];
/// Roles that move resources to needs.
const ALLOCATORS: &[Role] = &[
    Role::Admin,
    Role::AssociationStaff,
    Role::President,
    Role::TownStaff,
    Role::VillageStaff,
];

/// Funds of a campaign.
#[derive(Debug, Serialize, ToSchema, Default)]
pub struct FundsOut {
    /// Raised (fen).
    pub raised_fen: i64,
    /// Allocated to needs (fen).
    pub allocated_fen: i64,
    /// Left (fen) = raised − allocated.
    pub balance_fen: i64,
}

/// One material of a campaign.
#[derive(Debug, Serialize, ToSchema)]
pub struct MaterialOut {
    /// What.
    pub item: String,
    /// Unit (件, 台, 袋 ...).
    pub unit: String,
    /// Quantity received.
    pub raised: i64,
    /// Quantity allocated.
    pub allocated: i64,
    /// Quantity left.
    pub balance: i64,
    /// Declared value of what was received (fen).
    pub value_fen: i64,
}

/// A campaign with its balances.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignOut {
    /// Id.
    pub id: Uuid,
    /// The city.
    pub city_id: Uuid,
    /// Name (儒润童心, 温暖过冬, 复明助残 ...).
    pub name: String,
    /// `themed` or `special`.
    pub kind: String,
    /// Description.
    pub description: String,
    /// First day.
    pub starts_on: NaiveDate,
    /// Last day.
    pub ends_on: NaiveDate,
    /// Need categories it serves.
    pub target_categories: Vec<String>,
    /// Goal (fen).
    pub goal_fen: Option<i64>,
    /// Funds.
    pub funds: FundsOut,
    /// Materials, one row per item and unit.
    pub materials: Vec<MaterialOut>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// A campaign with its balances read.
async fn campaign_out(conn: &mut AsyncPgConnection, c: CampaignRow) -> Result<CampaignOut> {
    let mut funds = FundsOut::default();
    let mut materials = Vec::new();
    for b in campaigns::balances(conn, c.id).await? {
        if b.kind == "funds" {
            funds = FundsOut {
                raised_fen: b.raised,
                allocated_fen: b.allocated,
                balance_fen: b.balance,
            };
        } else {
            materials.push(MaterialOut {
                item: b.item,
                unit: b.unit,
                raised: b.raised,
                allocated: b.allocated,
                balance: b.balance,
                value_fen: b.value_fen,
            });
        }
    }
    Ok(CampaignOut {
        id: c.id,
        city_id: c.city_id,
        name: c.name,
        kind: c.kind,
        description: c.description,
        starts_on: c.starts_on,
        ends_on: c.ends_on,
        target_categories: c.target_categories,
        goal_fen: c.goal_fen,
        funds,
        materials,
        created_at: c.created_at,
    })
}

/// A campaign of the caller's city (any role), or 404.
async fn campaign_in_scope(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<CampaignRow> {
    let row = campaigns::find(conn, id).await?;
    city::visible(caller, row.city_id)?;
    Ok(row)
}

/// `POST /campaigns` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignIn {
    /// Name.
    pub name: String,
    /// `themed` (儒润童心, 温暖过冬, 情满中秋·助力如康) or `special` (复明, 辅具, 文化, 教育 助残).
    pub kind: String,
    /// Description.
    pub description: Option<String>,
    /// First day.
    pub starts_on: NaiveDate,
    /// Last day.
    pub ends_on: NaiveDate,
    /// Need categories it serves.
    pub target_categories: Option<Vec<String>>,
    /// Goal in fen (integer).
    pub goal_fen: Option<i64>,
    /// For a deployment admin: the city.
    pub city_id: Option<Uuid>,
}

list_query! {
    /// Filters of `GET /campaigns`.
    pub struct CampaignQuery {
        /// For a deployment admin: the city.
        pub city_id: Option<Uuid>,
        /// themed | special.
        pub kind: Option<String>,
    }
}

/// A page of the city's campaigns with their balances (a deployment admin: every city's, or the
/// one named).
pub async fn list_campaigns(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    q: CampaignQuery,
    page: &impl Keyset,
) -> Result<(Vec<CampaignOut>, Option<String>)> {
    let city = caller.city_id.or(q.city_id);
    let rows = campaigns::page(conn, city, q.kind, page.limit() + 1, page.after()).await?;
    let (rows, next_cursor) = page.finish(rows, |r| r.id);
    let mut items = Vec::new();
    for r in rows {
        items.push(campaign_out(conn, r).await?);
    }
    Ok((items, next_cursor))
}

/// One campaign: raised, allocated and balance by funds and by each material.
pub async fn get_campaign(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<CampaignOut> {
    let c = campaign_in_scope(conn, caller, id).await?;
    campaign_out(conn, c).await
}

/// Checks a new campaign; the valid name and categories.
fn check_campaign(input: &CampaignIn, errors: &mut Vec<FieldError>) -> (String, Vec<String>) {
    let name = input.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push(FieldError::new(
            "name",
            "is required (at most 200 characters)",
        ));
    }
    if !matches!(input.kind.as_str(), "themed" | "special") {
        errors.push(FieldError::new("kind", "must be themed or special"));
    }
    if input.ends_on < input.starts_on {
        errors.push(FieldError::new("ends_on", "must not be before starts_on"));
    }
    if input.goal_fen.is_some_and(|g| g <= 0) {
        errors.push(FieldError::new(
            "goal_fen",
            "must be a positive integer (fen)",
        ));
    }
    let cats = input.target_categories.clone().unwrap_or_default();
    for (i, c) in cats.iter().enumerate() {
        if Category::parse(c).is_none() {
            errors.push(FieldError::new(
                format!("target_categories[{i}]"),
                format!("must be one of {}", Category::words()),
            ));
        }
    }
    (name, cats)
}

/// Starts a campaign (admin, association): 403 before the body is read, then 404 for another
/// city, 422 per field, 404 for a city that does not exist.
pub async fn create_campaign(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    input: impl FnOnce() -> Result<CampaignIn>,
) -> Result<CampaignOut> {
    caller.require(FUNDRAISERS)?;
    let input = input()?;
    let city = caller.city_or(input.city_id)?;
    let mut errors = Vec::new();
    let (name, cats) = check_campaign(&input, &mut errors);
    Error::check(errors)?;
    city::exists(conn, city).await?;
    let new = CampaignRow {
        id: Uuid::now_v7(),
        city_id: city,
        name,
        kind: input.kind,
        description: input.description.unwrap_or_default(),
        starts_on: input.starts_on,
        ends_on: input.ends_on,
        target_categories: cats,
        goal_fen: input.goal_fen,
        created_by: Some(caller.user_id),
        created_at: Utc::now(),
    };
    let row = campaigns::insert(conn, &new).await?;
    campaign_out(conn, row).await
}

/// One material of a donation.
#[derive(Debug, Deserialize, Serialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct ItemIn {
    /// What (轮椅, 助听器, 大米 ...).
    pub item: String,
    /// How many (a positive integer).
    pub quantity: i64,
    /// Unit (台, 件, 袋 ...).
    pub unit: String,
    /// Declared value in fen (integer), if known.
    pub value_fen: Option<i64>,
}

/// `POST /donations` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DonationIn {
    /// The campaign.
    pub campaign_id: Uuid,
    /// `funds` or `materials`.
    pub kind: String,
    /// For funds: integer fen (`1000.0` or `"1000"` is refused).
    pub amount_fen: Option<i64>,
    /// For materials.
    pub items: Option<Vec<ItemIn>>,
    /// Donor (a person or an organisation; "匿名" for anonymous).
    pub donor_name: String,
    /// `offline`, `online_platform` (e.g. 腾讯公益) or `transfer`.
    pub channel: String,
    /// When it was received.
    pub received_on: NaiveDate,
}

/// A donation as recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct DonationOut {
    /// The donation (groups its ledger rows).
    pub id: Uuid,
    /// The campaign.
    pub campaign_id: Uuid,
    /// funds | materials.
    pub kind: String,
    /// For funds: fen.
    pub amount_fen: Option<i64>,
    /// For materials.
    pub items: Vec<ItemIn>,
    /// Donor.
    pub donor_name: Option<String>,
    /// Channel.
    pub channel: Option<String>,
    /// Received.
    pub received_on: Option<NaiveDate>,
    /// Whether it has been reversed.
    pub reversed: bool,
    /// Its ledger rows.
    pub ledger_entry_ids: Vec<Uuid>,
    /// Recorded.
    pub at: DateTime<Utc>,
}

/// A donation from its ledger rows (none: no donation).
fn donation_out(id: Uuid, rows: &[&LedgerEntry], reversed: bool) -> Option<DonationOut> {
    let first = rows.first()?;
    let funds = first.kind == "funds";
    Some(DonationOut {
        id,
        campaign_id: first.campaign_id,
        kind: first.kind.clone(),
        amount_fen: if funds {
            Some(rows.iter().map(|r| r.amount).sum())
        } else {
            None
        },
        items: if funds {
            Vec::new()
        } else {
            rows.iter()
                .map(|r| ItemIn {
                    item: r.item.clone(),
                    quantity: r.amount,
                    unit: r.unit.clone(),
                    value_fen: r.value_fen,
                })
                .collect()
        },
        donor_name: first.donor_name.clone(),
        channel: first.channel.clone(),
        received_on: first.received_on,
        reversed,
        ledger_entry_ids: rows.iter().map(|r| r.id).collect(),
        at: first.at,
    })
}

/// Adds a field error unless the text is given and at most `max` characters.
fn text_ok(field: &str, v: &str, max: usize, errors: &mut Vec<FieldError>) {
    if v.trim().is_empty() || v.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!("is required (at most {max} characters)"),
        ));
    }
}

/// One line of a donation: item, unit, amount, value (item and unit empty for funds).
type Line = (String, String, i64, Option<i64>);

/// Checks a donation's donor, channel, day and amounts; its lines.
fn donation_lines(input: &DonationIn, errors: &mut Vec<FieldError>) -> Vec<Line> {
    text_ok("donor_name", &input.donor_name, 200, errors);
    if !matches!(
        input.channel.as_str(),
        "offline" | "online_platform" | "transfer"
    ) {
        errors.push(FieldError::new(
            "channel",
            "must be offline, online_platform or transfer",
        ));
    }
    if input.received_on > Utc::now().date_naive() + chrono::Duration::days(1) {
        errors.push(FieldError::new("received_on", "must not be in the future"));
    }
    let mut lines: Vec<Line> = Vec::new();
    match input.kind.as_str() {
        "funds" => {
            match input.amount_fen {
                Some(a) if a > 0 => lines.push((String::new(), String::new(), a, None)),
                Some(_) => errors.push(FieldError::new(
                    "amount_fen",
                    "must be a positive integer (fen)",
                )),
                None => errors.push(FieldError::new("amount_fen", "is required for funds")),
            }
            if input.items.is_some() {
                errors.push(FieldError::new("items", "only for materials"));
            }
        }
        "materials" => {
            let items = input.items.as_deref().unwrap_or_default();
            if items.is_empty() {
                errors.push(FieldError::new("items", "name at least one item"));
            }
            for (i, it) in items.iter().enumerate() {
                if it.item.trim().is_empty() || it.item.chars().count() > 100 {
                    errors.push(FieldError::new(
                        format!("items[{i}].item"),
                        "is required (at most 100 characters)",
                    ));
                }
                if it.unit.trim().is_empty() || it.unit.chars().count() > 20 {
                    errors.push(FieldError::new(
                        format!("items[{i}].unit"),
                        "is required (at most 20 characters)",
                    ));
                }
                if it.quantity <= 0 {
                    errors.push(FieldError::new(
                        format!("items[{i}].quantity"),
                        "must be a positive integer",
                    ));
                }
                if it.value_fen.is_some_and(|v| v < 0) {
                    errors.push(FieldError::new(
                        format!("items[{i}].value_fen"),
                        "must not be negative",
                    ));
                }
                lines.push((
                    it.item.trim().to_string(),
                    it.unit.trim().to_string(),
                    it.quantity,
                    it.value_fen,
                ));
            }
            if input.amount_fen.is_some() {
                errors.push(FieldError::new("amount_fen", "only for funds"));
            }
        }
        _ => errors.push(FieldError::new("kind", "must be funds or materials")),
    }
    lines
}

/// Records funds or materials received by a campaign: one ledger row per line, in one
/// transaction under the campaign's lock.
pub async fn create_donation(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    input: impl FnOnce() -> Result<DonationIn>,
) -> Result<DonationOut> {
    caller.require(FUNDRAISERS)?;
    let input = input()?;
    let mut errors = Vec::new();
    let campaign = match campaign_in_scope(conn, caller, input.campaign_id).await {
        Ok(c) => Some(c),
        Err(Error::NotFound) => {
            errors.push(FieldError::new(
                "campaign_id",
                "no such campaign in your city",
            ));
            None
        }
        Err(e) => return Err(e),
    };
    let lines = donation_lines(&input, &mut errors);
    Error::check(errors)?;
    let campaign = campaign.ok_or_else(|| Error::internal("checked"))?;
    let donation_id = Uuid::now_v7();
    let entry = LedgerRow {
        campaign_id: campaign.id,
        entry: "donation".into(),
        kind: input.kind,
        donation_id: Some(donation_id),
        donor_name: Some(input.donor_name.trim().to_string()),
        channel: Some(input.channel),
        received_on: Some(input.received_on),
        actor_user_id: Some(caller.user_id),
        ..LedgerRow::default()
    };
    let rows = conn
        .transaction::<_, Error, _>(async move |conn| {
            let city = lock_campaign(conn, campaign.id).await?;
            let mut rows = Vec::new();
            for (item, unit, amount, value_fen) in lines {
                let line = LedgerRow {
                    item,
                    unit,
                    amount,
                    value_fen,
                    ..entry.clone()
                };
                rows.push(append(conn, city, line).await?);
            }
            Ok(rows)
        })
        .await?;
    let rows: Vec<&LedgerEntry> = rows.iter().collect();
    donation_out(donation_id, &rows, false).ok_or_else(|| Error::internal("empty donation"))
}

list_query! {
    /// Filters of `GET /donations`.
    pub struct DonationQuery {
        /// The campaign (required).
        pub campaign_id: Uuid,
    }
}

/// A page of a campaign's donations (404 for a campaign of another city).
pub async fn list_donations(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    campaign: Uuid,
    page: &impl Keyset,
) -> Result<(Vec<DonationOut>, Option<String>)> {
    campaign_in_scope(conn, caller, campaign).await?;
    let ids = entries::donation_ids(conn, campaign, page.limit() + 1, page.after()).await?;
    let (ids, next_cursor) = page.finish(ids, |i| *i);
    let rows = entries::of_donations(conn, &ids).await?;
    let row_ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let reversed = entries::reversed_among(conn, &row_ids).await?;
    let items = ids
        .iter()
        .filter_map(|id| {
            let mine: Vec<&LedgerEntry> = rows
                .iter()
                .filter(|r| r.donation_id == Some(*id) && r.entry == "donation")
                .collect();
            let rev = mine.iter().any(|r| reversed.contains(&r.id));
            donation_out(*id, &mine, rev)
        })
        .collect();
    Ok((items, next_cursor))
}

/// `POST /ledger-entries/{id}/reversal` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReversalIn {
    /// Why (a mistaken entry, returned goods ...).
    pub reason: String,
}

/// Corrects a donation or an allocation by a reversing row (never an edit): 404 outside the
/// city, 403, 422, 409 for a reversal or a row already reversed, or an insufficient balance.
pub async fn reverse(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    input: impl FnOnce() -> Result<ReversalIn>,
) -> Result<LedgerRow> {
    let orig = entries::find(conn, id).await?;
    city::visible(caller, orig.city_id)?;
    caller.require(FUNDRAISERS)?;
    let input = input()?;
    let mut errors = Vec::new();
    text_ok("reason", &input.reason, 2000, &mut errors);
    Error::check(errors)?;
    if orig.entry == "reversal" {
        return Err(Error::conflict(
            "conflict",
            "a reversal is not reversed; record a new entry",
        ));
    }
    let actor = Actor::of(caller);
    let entry = LedgerRow {
        campaign_id: orig.campaign_id,
        entry: "reversal".into(),
        kind: orig.kind.clone(),
        item: orig.item.clone(),
        unit: orig.unit.clone(),
        amount: -orig.amount,
        value_fen: orig.value_fen.map(|v| -v),
        donation_id: orig.donation_id,
        need_id: orig.need_id,
        reverses_id: Some(orig.id),
        note: Some(input.reason.trim().to_string()),
        actor_user_id: Some(caller.user_id),
        ..LedgerRow::default()
    };
    let row = conn
        .transaction::<_, Error, _>(async move |conn| {
            let city = lock_campaign(conn, orig.campaign_id).await?;
            if entries::reversals_of(conn, orig.id).await? > 0 {
                return Err(Error::conflict("conflict", "this entry is already reversed"));
            }
            let row = append(conn, city, entry).await?;
            if let Some(need) = orig.need_id {
                let n = lock(conn, need).await?;
                let payload = json!({"ledger_entry_id": row.id, "reverses_id": orig.id, "reason": input.reason});
                record(conn, NewEvent { need: &n, action: "allocation_reversed", from: Some(n.state), actor: &actor, at: Utc::now(), payload }).await?;
            }
            Ok(row)
        })
        .await?;
    Ok(row)
}

/// A campaign's movements in order: `limit` rows after seq `after` (404 for another city's).
pub async fn ledger(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    campaign: Uuid,
    limit: i64,
    after: i32,
) -> Result<Vec<LedgerRow>> {
    campaign_in_scope(conn, caller, campaign).await?;
    Ok(entries::page(conn, campaign, limit, after).await?)
}

/// `POST /needs/{id}/allocations` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllocationIn {
    /// The campaign (of the need's city).
    pub campaign_id: Uuid,
    /// `funds` or `materials`.
    pub kind: String,
    /// For funds: integer fen.
    pub amount_fen: Option<i64>,
    /// For materials: the item.
    pub item: Option<String>,
    /// For materials: how many.
    pub quantity: Option<i64>,
    /// For materials: the unit (needed only when the item comes in several units).
    pub unit: Option<String>,
    /// A note.
    pub note: Option<String>,
}

/// Checks an allocation's amounts; its item, unit and amount (the unit: as given, or the only
/// one this item was received in).
async fn allocation_line(
    conn: &mut AsyncPgConnection,
    input: &AllocationIn,
    errors: &mut Vec<FieldError>,
) -> Result<(String, String, i64)> {
    let none = (String::new(), String::new(), 0);
    match input.kind.as_str() {
        "funds" => {
            if input.item.is_some() || input.quantity.is_some() {
                errors.push(FieldError::new("item", "only for materials"));
            }
            match input.amount_fen {
                Some(a) if a > 0 => Ok((String::new(), String::new(), a)),
                Some(_) => {
                    errors.push(FieldError::new(
                        "amount_fen",
                        "must be a positive integer (fen)",
                    ));
                    Ok(none)
                }
                None => {
                    errors.push(FieldError::new("amount_fen", "is required for funds"));
                    Ok(none)
                }
            }
        }
        "materials" => {
            let item = input.item.clone().unwrap_or_default().trim().to_string();
            if item.is_empty() {
                errors.push(FieldError::new("item", "is required for materials"));
            }
            let q = input.quantity.unwrap_or(0);
            if q <= 0 {
                errors.push(FieldError::new("quantity", "must be a positive integer"));
            }
            if input.amount_fen.is_some() {
                errors.push(FieldError::new("amount_fen", "only for funds"));
            }
            let unit = match &input.unit {
                Some(u) => u.trim().to_string(),
                None => match campaigns::material_units(conn, input.campaign_id, &item)
                    .await?
                    .as_slice()
                {
                    [one] => one.clone(),
                    [] => String::new(),
                    _ => {
                        errors.push(FieldError::new(
                            "unit",
                            "this item comes in several units: name one",
                        ));
                        String::new()
                    }
                },
            };
            Ok((item, unit, q))
        }
        _ => {
            errors.push(FieldError::new("kind", "must be funds or materials"));
            Ok(none)
        }
    }
}

/// Moves funds or materials from a campaign to an open social-loop need: the ledger row and the
/// need's `allocate` event in one transaction, under the need's and the campaign's locks.
pub async fn allocate(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    input: impl FnOnce() -> Result<AllocationIn>,
) -> Result<LedgerRow> {
    let need = find_in_scope(conn, caller, id).await?;
    caller.require(ALLOCATORS)?;
    let input = input()?;
    let mut errors = Vec::new();
    match campaign_in_scope(conn, caller, input.campaign_id).await {
        Ok(c) if c.city_id == need.city_id => {}
        Ok(_) | Err(Error::NotFound) => errors.push(FieldError::new(
            "campaign_id",
            "no such campaign in the need's city",
        )),
        Err(e) => return Err(e),
    }
    let (item, unit, amount) = allocation_line(conn, &input, &mut errors).await?;
    Error::check(errors)?;
    if need.loop_ != Some(Loop::Social) || need.state.is_final() {
        return Err(Error::conflict(
            "conflict",
            "resources go to open needs of the social loop",
        ));
    }
    let (kind, campaign_id) = (input.kind, input.campaign_id);
    let payload = if kind == "funds" {
        json!({"campaign_id": campaign_id, "kind": kind, "amount_fen": amount})
    } else {
        json!({"campaign_id": campaign_id, "kind": kind, "item": item, "unit": unit, "quantity": amount})
    };
    let entry = LedgerRow {
        campaign_id,
        entry: "allocation".into(),
        kind,
        item,
        unit,
        amount: -amount,
        need_id: Some(id),
        note: input.note,
        actor_user_id: Some(caller.user_id),
        ..LedgerRow::default()
    };
    let actor = Actor::of(caller);
    let row = conn
        .transaction::<_, Error, _>(async move |conn| {
            let n = lock(conn, id).await?;
            if n.state.is_final() {
                return Err(Error::conflict("conflict", "the need is finished"));
            }
            let city = lock_campaign(conn, campaign_id).await?;
            let row = append(conn, city, entry).await?;
            let mut payload = payload;
            payload["ledger_entry_id"] = json!(row.id);
            record(
                conn,
                NewEvent {
                    need: &n,
                    action: "allocate",
                    from: Some(n.state),
                    actor: &actor,
                    at: Utc::now(),
                    payload,
                },
            )
            .await?;
            Ok(row)
        })
        .await?;
    Ok(row)
}

/// What a need has received (404 outside scope).
pub async fn need_allocations(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<Vec<LedgerRow>> {
    find_in_scope(conn, caller, id).await?;
    let rows = entries::of_need(conn, id).await?;
    Ok(rows)
}
