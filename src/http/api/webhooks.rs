//! Webhooks: a city admin's signed event feed (registration, listing, delivery attempts).

use actix_web::{web, HttpResponse};
use uuid::Uuid;

use super::{created, ok, Paged};
use crate::http::caller::Ctx;
use crate::http::error::AppResult;
use crate::http::extract::{Body, PageQuery, Query};
use crate::service::webhooks::{
    self as svc, DeliveryOut, WebhookCreated, WebhookIn, WebhookOut, WebhookQuery,
};

/// `POST /api/v1/webhooks`: registers a webhook for the city's need events; the secret is in this answer only.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = WebhookIn, security(("bearer" = [])), responses(
    (status = 201, body = WebhookCreated), (status = 403, body = crate::http::error::Problem), (status = 404, description = "`city_id` names a city other than the caller's", body = crate::http::error::Problem),
    (status = 422, description = "a field is invalid; `url` also when it targets a loopback, private, link-local or multicast address", body = crate::http::error::Problem)))]
pub async fn create(cx: Ctx, body: Body) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    let allow_private = cx.state.webhook_allow_private;
    Ok(created(
        &svc::create(&mut conn, &cx.caller, allow_private, || {
            body.json::<WebhookIn>()
        })
        .await?,
    ))
}

/// `GET /api/v1/webhooks`: the city's webhooks (without their secrets).
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", params(WebhookQuery), security(("bearer" = [])), responses(
    (status = 200, body = Paged<WebhookOut>), (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn list(cx: Ctx, q: Query<WebhookQuery>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    Ok(ok(&svc::list(&mut conn, &cx.caller, q.0).await?))
}

/// `GET /api/v1/webhooks/{id}`: one webhook of the city (without its secret).
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 200, body = WebhookOut), (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem)))]
pub async fn get(cx: Ctx, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    Ok(ok(&svc::get(&mut conn, &cx.caller, *id).await?))
}

/// `DELETE /api/v1/webhooks/{id}`: removes a webhook; nothing more is sent to it.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 204, description = "Removed"), (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem)))]
pub async fn delete(cx: Ctx, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    svc::delete(&mut conn, &cx.caller, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /api/v1/webhooks/{id}/deliveries`: every delivery attempt, oldest first.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = Uuid, Path), PageQuery), security(("bearer" = [])), responses(
    (status = 200, body = Paged<DeliveryOut>), (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn deliveries(
    cx: Ctx,
    id: web::Path<Uuid>,
    q: Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    let (limit, cursor) = (q.0.limit, q.0.cursor.as_deref());
    Ok(ok(&svc::deliveries(
        &mut conn, &cx.caller, *id, limit, cursor,
    )
    .await?))
}
