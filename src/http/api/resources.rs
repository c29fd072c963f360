//! Campaigns, donations, allocations to needs, and the ledger behind them.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{created, ok, Paged};
use crate::auth::Caller;
use crate::db::schema::{campaign_balances, campaigns, ledger_entries, needs};
use crate::domain::need::{Category, Loop, State};
use crate::domain::roles::Role;
use crate::http::error::{AppError, AppResult, FieldError};
use crate::http::extract::{path_id, Body, Page, Query, SeqPage};
use crate::http::AppState;
use crate::service::ledger::{append, lock_campaign, LedgerRow, NewEntry};
use crate::service::needs::{append_event, Actor, NeedRow};

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

/// A campaign row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = campaigns)]
pub struct CampaignRow {
    /// Id.
    pub id: Uuid,
    /// City.
    pub city_id: Uuid,
    /// Name.
    pub name: String,
    /// themed | special.
    pub kind: String,
    /// Description.
    pub description: String,
    /// First day.
    pub starts_on: NaiveDate,
    /// Last day.
    pub ends_on: NaiveDate,
    /// Need categories it serves.
    pub target_categories: Vec<String>,
    /// Goal in fen.
    pub goal_fen: Option<i64>,
    /// Creator.
    pub created_by: Option<Uuid>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

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

async fn campaign_out(conn: &mut AsyncPgConnection, c: CampaignRow) -> AppResult<CampaignOut> {
    let rows: Vec<(String, String, String, i64, i64, i64, i64)> = campaign_balances::table
        .filter(campaign_balances::campaign_id.eq(c.id))
        .order((
            campaign_balances::kind,
            campaign_balances::item,
            campaign_balances::unit,
        ))
        .select((
            campaign_balances::kind,
            campaign_balances::item,
            campaign_balances::unit,
            campaign_balances::raised,
            campaign_balances::allocated,
            campaign_balances::balance,
            campaign_balances::value_fen,
        ))
        .load(conn)
        .await?;
    let mut funds = FundsOut::default();
    let mut materials = Vec::new();
    for (kind, item, unit, raised, allocated, balance, value_fen) in rows {
        if kind == "funds" {
            funds = FundsOut {
                raised_fen: raised,
                allocated_fen: allocated,
                balance_fen: balance,
            };
        } else {
            materials.push(MaterialOut {
                item,
                unit,
                raised,
                allocated,
                balance,
                value_fen,
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
) -> AppResult<CampaignRow> {
    let row: CampaignRow = campaigns::table
        .find(id)
        .select(CampaignRow::as_select())
        .first(conn)
        .await?;
    if caller.city_id.is_some_and(|c| c != row.city_id) {
        return Err(AppError::NotFound);
    }
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

/// Filters of `GET /campaigns`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CampaignQuery {
    /// For a deployment admin: the city.
    pub city_id: Option<Uuid>,
    /// themed | special.
    pub kind: Option<String>,
    /// Page size (1–200, default 50).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}

/// `GET /api/v1/campaigns`: the city's campaigns with their balances.
#[utoipa::path(get, path = "/api/v1/campaigns", tag = "resources", params(CampaignQuery), security(("bearer" = [])), responses(
    (status = 200, body = Paged<CampaignOut>), (status = 422, body = crate::http::error::Problem)))]
pub async fn list_campaigns(
    caller: Caller,
    state: web::Data<AppState>,
    q: Query<CampaignQuery>,
) -> AppResult<HttpResponse> {
    let q = q.0;
    let page = Page::new(q.limit, q.cursor.as_deref())?;
    let mut query = campaigns::table
        .select(CampaignRow::as_select())
        .order(campaigns::id)
        .limit(page.limit + 1)
        .into_boxed();
    match (caller.city_id, q.city_id) {
        (Some(c), _) => query = query.filter(campaigns::city_id.eq(c)),
        (None, Some(c)) => query = query.filter(campaigns::city_id.eq(c)),
        (None, None) => {}
    }
    if let Some(k) = q.kind {
        query = query.filter(campaigns::kind.eq(k));
    }
    if let Some(after) = page.after {
        query = query.filter(campaigns::id.gt(after));
    }
    let mut conn = state.conn().await?;
    let rows: Vec<CampaignRow> = query.load(&mut conn).await?;
    let (rows, next_cursor) = page.finish(rows, |r| r.id);
    let mut items = Vec::new();
    for r in rows {
        items.push(campaign_out(&mut conn, r).await?);
    }
    Ok(ok(&Paged { items, next_cursor }))
}

/// `GET /api/v1/campaigns/{id}`: one campaign: raised, allocated and balance by funds and by each material.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}", tag = "resources", params(("id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 200, body = CampaignOut), (status = 404, body = crate::http::error::Problem)))]
pub async fn get_campaign(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = path_id(&id)?;
    let mut conn = state.conn().await?;
    let c = campaign_in_scope(&mut conn, &caller, id).await?;
    Ok(ok(&campaign_out(&mut conn, c).await?))
}

/// `POST /api/v1/campaigns`: starts a campaign (admin, association).
#[utoipa::path(post, path = "/api/v1/campaigns", tag = "resources", request_body = CampaignIn, security(("bearer" = [])), responses(
    (status = 201, body = CampaignOut), (status = 403, body = crate::http::error::Problem), (status = 404, description = "`city_id` names a city other than the caller's", body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn create_campaign(
    caller: Caller,
    state: web::Data<AppState>,
    body: Body,
) -> AppResult<HttpResponse> {
    caller.require(FUNDRAISERS)?;
    let input: CampaignIn = body.json()?;
    let city = caller.city_or(input.city_id)?;
    let mut errors = Vec::new();
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
    let cats = input.target_categories.unwrap_or_default();
    for (i, c) in cats.iter().enumerate() {
        if Category::parse(c).is_none() {
            errors.push(FieldError::new(
                format!("target_categories[{i}]"),
                format!("must be one of {}", Category::words()),
            ));
        }
    }
    AppError::check(errors)?;
    let mut conn = state.conn().await?;
    crate::service::roster::city_exists(&mut conn, city).await?;
    let row: CampaignRow = diesel::insert_into(campaigns::table)
        .values((
            campaigns::id.eq(Uuid::now_v7()),
            campaigns::city_id.eq(city),
            campaigns::name.eq(name),
            campaigns::kind.eq(&input.kind),
            campaigns::description.eq(input.description.unwrap_or_default()),
            campaigns::starts_on.eq(input.starts_on),
            campaigns::ends_on.eq(input.ends_on),
            campaigns::target_categories.eq(cats),
            campaigns::goal_fen.eq(input.goal_fen),
            campaigns::created_by.eq(caller.user_id),
        ))
        .returning(CampaignRow::as_returning())
        .get_result(&mut conn)
        .await?;
    Ok(created(&campaign_out(&mut conn, row).await?))
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

fn donation_out(id: Uuid, rows: &[LedgerRow], reversed: bool) -> Option<DonationOut> {
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

fn text_ok(field: &str, v: &str, max: usize, errors: &mut Vec<FieldError>) {
    if v.trim().is_empty() || v.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!("is required (at most {max} characters)"),
        ));
    }
}

/// `POST /api/v1/donations`: records funds or materials received by a campaign.
#[utoipa::path(post, path = "/api/v1/donations", tag = "resources", request_body = DonationIn, security(("bearer" = [])), responses(
    (status = 201, body = DonationOut), (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem),
    (status = 422, description = "bad amounts (floats and strings too), channel, items", body = crate::http::error::Problem)))]
pub async fn create_donation(
    caller: Caller,
    state: web::Data<AppState>,
    body: Body,
) -> AppResult<HttpResponse> {
    caller.require(FUNDRAISERS)?;
    let input: DonationIn = body.json()?;
    let mut conn = state.conn().await?;
    let mut errors = Vec::new();
    let campaign = match campaign_in_scope(&mut conn, &caller, input.campaign_id).await {
        Ok(c) => Some(c),
        Err(AppError::NotFound) => {
            errors.push(FieldError::new(
                "campaign_id",
                "no such campaign in your city",
            ));
            None
        }
        Err(e) => return Err(e),
    };
    text_ok("donor_name", &input.donor_name, 200, &mut errors);
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
    let mut lines: Vec<(String, String, i64, Option<i64>)> = Vec::new();
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
            let items = input.items.clone().unwrap_or_default();
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
    AppError::check(errors)?;
    let campaign = campaign.ok_or_else(|| AppError::internal("checked"))?;
    let donation_id = Uuid::now_v7();
    let kind = input.kind.clone();
    let (donor, channel, received) = (
        input.donor_name.trim().to_string(),
        input.channel.clone(),
        input.received_on,
    );
    let user = caller.user_id;
    let rows = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let city = lock_campaign(conn, campaign.id).await?;
            let mut rows = Vec::new();
            for (item, unit, amount, value) in lines {
                rows.push(
                    append(
                        conn,
                        city,
                        NewEntry {
                            campaign_id: campaign.id,
                            entry: "donation",
                            kind: kind.clone(),
                            item,
                            unit,
                            amount,
                            value_fen: value,
                            donation_id: Some(donation_id),
                            donor_name: Some(donor.clone()),
                            channel: Some(channel.clone()),
                            received_on: Some(received),
                            actor_user_id: Some(user),
                            ..NewEntry::default()
                        },
                    )
                    .await?,
                );
            }
            Ok(rows)
        })
        .await?;
    let out = donation_out(donation_id, &rows, false)
        .ok_or_else(|| AppError::internal("empty donation"))?;
    Ok(created(&out))
}

/// Filters of `GET /donations`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DonationQuery {
    /// The campaign (required).
    pub campaign_id: Uuid,
    /// Page size (1–200, default 50).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}

/// `GET /api/v1/donations?campaign_id=`: a campaign's donations.
#[utoipa::path(get, path = "/api/v1/donations", tag = "resources", params(DonationQuery), security(("bearer" = [])), responses(
    (status = 200, body = Paged<DonationOut>), (status = 404, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn list_donations(
    caller: Caller,
    state: web::Data<AppState>,
    q: Query<DonationQuery>,
) -> AppResult<HttpResponse> {
    let q = q.0;
    let page = Page::new(q.limit, q.cursor.as_deref())?;
    let mut conn = state.conn().await?;
    campaign_in_scope(&mut conn, &caller, q.campaign_id).await?;
    let mut ids = ledger_entries::table
        .filter(ledger_entries::campaign_id.eq(q.campaign_id))
        .filter(ledger_entries::entry.eq("donation"))
        .select(ledger_entries::donation_id)
        .distinct()
        .order(ledger_entries::donation_id)
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = page.after {
        ids = ids.filter(ledger_entries::donation_id.gt(after));
    }
    let ids: Vec<Option<Uuid>> = ids.load(&mut conn).await?;
    let ids: Vec<Uuid> = ids.into_iter().flatten().collect();
    let (ids, next_cursor) = page.finish(ids, |i| *i);
    let rows: Vec<LedgerRow> = ledger_entries::table
        .filter(ledger_entries::donation_id.eq_any(&ids))
        .order(ledger_entries::seq)
        .select(LedgerRow::as_select())
        .load(&mut conn)
        .await?;
    let reversed: Vec<Option<Uuid>> = ledger_entries::table
        .filter(ledger_entries::reverses_id.eq_any(rows.iter().map(|r| r.id).collect::<Vec<_>>()))
        .select(ledger_entries::reverses_id)
        .load(&mut conn)
        .await?;
    let items: Vec<DonationOut> = ids
        .iter()
        .filter_map(|id| {
            let mine: Vec<LedgerRow> = rows
                .iter()
                .filter(|r| r.donation_id == Some(*id) && r.entry == "donation")
                .cloned()
                .collect();
            let rev = mine.iter().any(|r| reversed.contains(&Some(r.id)));
            donation_out(*id, &mine, rev)
        })
        .collect();
    Ok(ok(&Paged { items, next_cursor }))
}

/// `POST /ledger-entries/{id}/reversal` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReversalIn {
    /// Why (a mistaken entry, returned goods ...).
    pub reason: String,
}

/// `POST /api/v1/ledger-entries/{id}/reversal`: corrects a donation or an allocation by a
/// reversing row (never an edit); refused when it would take the balance below zero.
#[utoipa::path(post, path = "/api/v1/ledger-entries/{id}/reversal", tag = "resources", params(("id" = Uuid, Path)), request_body = ReversalIn,
    security(("bearer" = [])), responses(
    (status = 201, body = LedgerRow), (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem),
    (status = 409, description = "already reversed (`conflict`), or `insufficient_balance`", body = crate::http::error::Problem)))]
pub async fn reverse(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Body,
) -> AppResult<HttpResponse> {
    let id = path_id(&id)?;
    let mut conn = state.conn().await?;
    let orig: LedgerRow = ledger_entries::table
        .find(id)
        .select(LedgerRow::as_select())
        .first(&mut conn)
        .await?;
    if caller.city_id.is_some_and(|c| c != orig.city_id) {
        return Err(AppError::NotFound);
    }
    caller.require(FUNDRAISERS)?;
    let input: ReversalIn = body.json()?;
    let mut errors = Vec::new();
    text_ok("reason", &input.reason, 2000, &mut errors);
    AppError::check(errors)?;
    if orig.entry == "reversal" {
        return Err(AppError::conflict(
            "conflict",
            "a reversal is not reversed; record a new entry",
        ));
    }
    let user = caller.user_id;
    let actor = Actor::of(&caller);
    let row = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let city = lock_campaign(conn, orig.campaign_id).await?;
            let already: i64 = ledger_entries::table
                .filter(ledger_entries::reverses_id.eq(orig.id))
                .count()
                .get_result(conn)
                .await?;
            if already > 0 {
                return Err(AppError::conflict("conflict", "this entry is already reversed"));
            }
            let row = append(conn, city, NewEntry {
                campaign_id: orig.campaign_id,
                entry: "reversal",
                kind: orig.kind.clone(),
                item: orig.item.clone(),
                unit: orig.unit.clone(),
                amount: -orig.amount,
                value_fen: orig.value_fen.map(|v| -v),
                donation_id: orig.donation_id,
                need_id: orig.need_id,
                reverses_id: Some(orig.id),
                note: Some(input.reason.trim().to_string()),
                actor_user_id: Some(user),
                ..NewEntry::default()
            })
            .await?;
            if let Some(need) = orig.need_id {
                let n: NeedRow = needs::table.find(need).select(NeedRow::as_select()).for_update().first(conn).await?;
                let from = n.state.clone();
                append_event(conn, &n, "allocation_reversed", Some(&from), &actor, Utc::now(), json!({"ledger_entry_id": row.id, "reverses_id": orig.id, "reason": input.reason})).await?;
            }
            Ok(row)
        })
        .await?;
    Ok(created(&row))
}

/// Page parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SeqQuery {
    /// Page size (1–200, default 50).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}

/// `GET /api/v1/campaigns/{id}/ledger`: every movement of a campaign, in order.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/ledger", tag = "resources", params(("id" = Uuid, Path), SeqQuery), security(("bearer" = [])), responses(
    (status = 200, body = Paged<LedgerRow>), (status = 404, body = crate::http::error::Problem)))]
pub async fn ledger(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    q: Query<SeqQuery>,
) -> AppResult<HttpResponse> {
    let id = path_id(&id)?;
    let page = SeqPage::new(q.0.limit, q.0.cursor.as_deref(), 50)?;
    let mut conn = state.conn().await?;
    campaign_in_scope(&mut conn, &caller, id).await?;
    let rows: Vec<LedgerRow> = ledger_entries::table
        .filter(ledger_entries::campaign_id.eq(id))
        .filter(ledger_entries::seq.gt(page.after))
        .order(ledger_entries::seq)
        .limit(page.limit + 1)
        .select(LedgerRow::as_select())
        .load(&mut conn)
        .await?;
    let (rows, next_cursor) = page.finish(rows, |r| r.seq);
    Ok(ok(&Paged {
        items: rows,
        next_cursor,
    }))
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

/// `POST /api/v1/needs/{id}/allocations`: moves funds or materials from a campaign to a social-loop need.
#[utoipa::path(post, path = "/api/v1/needs/{id}/allocations", tag = "resources", params(("id" = Uuid, Path)), request_body = AllocationIn,
    security(("bearer" = [])), responses(
    (status = 201, body = LedgerRow), (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem),
    (status = 409, description = "`insufficient_balance`, or the need is not open in the social loop (`conflict`)", body = crate::http::error::Problem),
    (status = 422, body = crate::http::error::Problem)))]
pub async fn allocate(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Body,
) -> AppResult<HttpResponse> {
    let id = path_id(&id)?;
    let mut conn = state.conn().await?;
    let need = crate::service::needs::load_in_scope(&mut conn, &caller, id).await?;
    caller.require(ALLOCATORS)?;
    let input: AllocationIn = body.json()?;
    let mut errors = Vec::new();
    match campaign_in_scope(&mut conn, &caller, input.campaign_id).await {
        Ok(c) if c.city_id == need.city_id => {}
        Ok(_) | Err(AppError::NotFound) => errors.push(FieldError::new(
            "campaign_id",
            "no such campaign in the need's city",
        )),
        Err(e) => return Err(e),
    }
    let (item, unit, amount) = match input.kind.as_str() {
        "funds" => {
            if input.item.is_some() || input.quantity.is_some() {
                errors.push(FieldError::new("item", "only for materials"));
            }
            match input.amount_fen {
                Some(a) if a > 0 => (String::new(), String::new(), a),
                Some(_) => {
                    errors.push(FieldError::new(
                        "amount_fen",
                        "must be a positive integer (fen)",
                    ));
                    (String::new(), String::new(), 0)
                }
                None => {
                    errors.push(FieldError::new("amount_fen", "is required for funds"));
                    (String::new(), String::new(), 0)
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
            // the unit: as given, or the only one this item was received in
            let unit = match input.unit.clone() {
                Some(u) => u.trim().to_string(),
                None => {
                    let units: Vec<String> = campaign_balances::table
                        .filter(campaign_balances::campaign_id.eq(input.campaign_id))
                        .filter(campaign_balances::kind.eq("materials"))
                        .filter(campaign_balances::item.eq(&item))
                        .select(campaign_balances::unit)
                        .load(&mut conn)
                        .await?;
                    match units.as_slice() {
                        [one] => one.clone(),
                        [] => String::new(),
                        _ => {
                            errors.push(FieldError::new(
                                "unit",
                                "this item comes in several units: name one",
                            ));
                            String::new()
                        }
                    }
                }
            };
            (item, unit, q)
        }
        _ => {
            errors.push(FieldError::new("kind", "must be funds or materials"));
            (String::new(), String::new(), 0)
        }
    };
    AppError::check(errors)?;
    if need.loop_.as_deref() != Some(Loop::Social.as_str())
        || matches!(need.state.as_str(), "closed" | "withdrawn")
    {
        return Err(AppError::conflict(
            "conflict",
            "resources go to open needs of the social loop",
        ));
    }
    let kind = input.kind.clone();
    let note = input.note.clone();
    let user = caller.user_id;
    let actor = Actor::of(&caller);
    let campaign_id = input.campaign_id;
    let row = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let n: NeedRow = needs::table.find(id).select(NeedRow::as_select()).for_update().first(conn).await?;
            if State::parse(&n.state).is_none_or(|s| s.is_final()) {
                return Err(AppError::conflict("conflict", "the need is finished"));
            }
            let city = lock_campaign(conn, campaign_id).await?;
            let row = append(conn, city, NewEntry {
                campaign_id,
                entry: "allocation",
                kind: kind.clone(),
                item: item.clone(),
                unit: unit.clone(),
                amount: -amount,
                need_id: Some(id),
                note,
                actor_user_id: Some(user),
                ..NewEntry::default()
            })
            .await?;
            let from = n.state.clone();
            let payload = if kind == "funds" {
                json!({"campaign_id": campaign_id, "kind": kind, "amount_fen": amount, "ledger_entry_id": row.id})
            } else {
                json!({"campaign_id": campaign_id, "kind": kind, "item": item, "unit": unit, "quantity": amount, "ledger_entry_id": row.id})
            };
            append_event(conn, &n, "allocate", Some(&from), &actor, Utc::now(), payload).await?;
            Ok(row)
        })
        .await?;
    Ok(created(&row))
}

/// `GET /api/v1/needs/{id}/allocations`: what a need has received.
#[utoipa::path(get, path = "/api/v1/needs/{id}/allocations", tag = "resources", params(("id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 200, body = Paged<LedgerRow>), (status = 404, body = crate::http::error::Problem)))]
pub async fn need_allocations(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = path_id(&id)?;
    let mut conn = state.conn().await?;
    crate::service::needs::load_in_scope(&mut conn, &caller, id).await?;
    let rows: Vec<LedgerRow> = ledger_entries::table
        .filter(ledger_entries::need_id.eq(id))
        .order((ledger_entries::at, ledger_entries::seq))
        .limit(1000)
        .select(LedgerRow::as_select())
        .load(&mut conn)
        .await?;
    Ok(ok(&Paged {
        items: rows,
        next_cursor: None,
    }))
}
