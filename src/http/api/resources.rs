//! Campaigns, donations, allocations to needs, and the ledger behind them.

use actix_web::{web, HttpResponse};
use uuid::Uuid;

use super::{created, ok, Paged};
use crate::http::caller::Ctx;
use crate::http::error::AppResult;
use crate::http::extract::{Body, Page, PageQuery, Query, SeqPage};
use crate::service::ledger::LedgerRow;
use crate::service::resources::{
    self, AllocationIn, CampaignIn, CampaignOut, CampaignQuery, DonationIn, DonationOut,
    DonationQuery, ReversalIn,
};

/// `GET /api/v1/campaigns`: the city's campaigns with their balances.
#[utoipa::path(get, path = "/api/v1/campaigns", tag = "resources", params(CampaignQuery), security(("bearer" = [])), responses(
    (status = 200, body = Paged<CampaignOut>), (status = 422, body = crate::http::error::Problem)))]
pub async fn list_campaigns(cx: Ctx, q: Query<CampaignQuery>) -> AppResult<HttpResponse> {
    let q = q.0;
    let page = Page::new(q.limit, q.cursor.as_deref())?;
    let mut conn = cx.conn().await?;
    let (items, next_cursor) = resources::list_campaigns(&mut conn, &cx.caller, q, &page).await?;
    Ok(ok(&Paged { items, next_cursor }))
}

/// `GET /api/v1/campaigns/{id}`: one campaign: raised, allocated and balance by funds and by each material.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}", tag = "resources", params(("id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 200, body = CampaignOut), (status = 404, body = crate::http::error::Problem)))]
pub async fn get_campaign(cx: Ctx, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    Ok(ok(
        &resources::get_campaign(&mut conn, &cx.caller, *id).await?
    ))
}

/// `POST /api/v1/campaigns`: starts a campaign (admin, association).
#[utoipa::path(post, path = "/api/v1/campaigns", tag = "resources", request_body = CampaignIn, security(("bearer" = [])), responses(
    (status = 201, body = CampaignOut), (status = 403, body = crate::http::error::Problem), (status = 404, description = "`city_id` names a city other than the caller's", body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn create_campaign(cx: Ctx, body: Body) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    let out = resources::create_campaign(&mut conn, &cx.caller, || body.json()).await?;
    Ok(created(&out))
}

/// `POST /api/v1/donations`: records funds or materials received by a campaign.
#[utoipa::path(post, path = "/api/v1/donations", tag = "resources", request_body = DonationIn, security(("bearer" = [])), responses(
    (status = 201, body = DonationOut), (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem),
    (status = 422, description = "bad amounts (floats and strings too), channel, items", body = crate::http::error::Problem)))]
pub async fn create_donation(cx: Ctx, body: Body) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    let out = resources::create_donation(&mut conn, &cx.caller, || body.json()).await?;
    Ok(created(&out))
}

/// `GET /api/v1/donations?campaign_id=`: a campaign's donations.
#[utoipa::path(get, path = "/api/v1/donations", tag = "resources", params(DonationQuery), security(("bearer" = [])), responses(
    (status = 200, body = Paged<DonationOut>), (status = 404, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn list_donations(cx: Ctx, q: Query<DonationQuery>) -> AppResult<HttpResponse> {
    let q = q.0;
    let page = Page::new(q.limit, q.cursor.as_deref())?;
    let mut conn = cx.conn().await?;
    let (items, next_cursor) =
        resources::list_donations(&mut conn, &cx.caller, q.campaign_id, &page).await?;
    Ok(ok(&Paged { items, next_cursor }))
}

/// `POST /api/v1/ledger-entries/{id}/reversal`: corrects a donation or an allocation by a
/// reversing row (never an edit); refused when it would take the balance below zero.
#[utoipa::path(post, path = "/api/v1/ledger-entries/{id}/reversal", tag = "resources", params(("id" = Uuid, Path)), request_body = ReversalIn,
    security(("bearer" = [])), responses(
    (status = 201, body = LedgerRow), (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem),
    (status = 409, description = "already reversed (`conflict`), or `insufficient_balance`", body = crate::http::error::Problem)))]
pub async fn reverse(cx: Ctx, id: web::Path<Uuid>, body: Body) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    let row = resources::reverse(&mut conn, &cx.caller, *id, || body.json()).await?;
    Ok(created(&row))
}

/// `GET /api/v1/campaigns/{id}/ledger`: every movement of a campaign, in order.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/ledger", tag = "resources", params(("id" = Uuid, Path), PageQuery), security(("bearer" = [])), responses(
    (status = 200, body = Paged<LedgerRow>), (status = 404, body = crate::http::error::Problem)))]
pub async fn ledger(cx: Ctx, id: web::Path<Uuid>, q: Query<PageQuery>) -> AppResult<HttpResponse> {
    let page = SeqPage::new(q.0.limit, q.0.cursor.as_deref(), 50)?;
    let mut conn = cx.conn().await?;
    let rows = resources::ledger(&mut conn, &cx.caller, *id, page.limit + 1, page.after).await?;
    let (items, next_cursor) = page.finish(rows, |r| r.seq);
    Ok(ok(&Paged { items, next_cursor }))
}

/// `POST /api/v1/needs/{id}/allocations`: moves funds or materials from a campaign to a social-loop need.
#[utoipa::path(post, path = "/api/v1/needs/{id}/allocations", tag = "resources", params(("id" = Uuid, Path)), request_body = AllocationIn,
    security(("bearer" = [])), responses(
    (status = 201, body = LedgerRow), (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem),
    (status = 409, description = "`insufficient_balance`, or the need is not open in the social loop (`conflict`)", body = crate::http::error::Problem),
    (status = 422, body = crate::http::error::Problem)))]
pub async fn allocate(cx: Ctx, id: web::Path<Uuid>, body: Body) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    let row = resources::allocate(&mut conn, &cx.caller, *id, || body.json()).await?;
    Ok(created(&row))
}

/// `GET /api/v1/needs/{id}/allocations`: what a need has received.
#[utoipa::path(get, path = "/api/v1/needs/{id}/allocations", tag = "resources", params(("id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 200, body = Paged<LedgerRow>), (status = 404, body = crate::http::error::Problem)))]
pub async fn need_allocations(cx: Ctx, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    let items = resources::need_allocations(&mut conn, &cx.caller, *id).await?;
    Ok(ok(&Paged {
        items,
        next_cursor: None,
    }))
}
