//! Need handlers: `/needs`, a need, its history and its actions. Each parses the request,
//! calls one use case of `service::needs`, and answers.

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use uuid::Uuid;

use super::{ok, Paged};
use crate::http::caller::Ctx;
use crate::http::error::AppResult;
use crate::http::extract::{etag, if_match, Body, IdempotencyKey, Query};
use crate::service::needs::{self as svc, EventOut, EventQuery, Filed, NeedIn, NeedOut, NeedQuery};

/// `GET /api/v1/needs`: needs in scope, filtered, keyset-paginated.
#[utoipa::path(get, path = "/api/v1/needs", tag = "needs", params(NeedQuery), security(("bearer" = [])), responses(
    (status = 200, body = Paged<NeedOut>), (status = 401, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn list(cx: Ctx, q: Query<NeedQuery>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    Ok(ok(
        &svc::list(&mut conn, &cx.caller, &cx.state.pii, q.0).await?
    ))
}

/// `GET /api/v1/needs/{id}`: one need, with its version as `ETag`.
#[utoipa::path(get, path = "/api/v1/needs/{id}", tag = "needs", params(("id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 200, body = NeedOut, headers(("ETag" = String, description = "the version"))), (status = 404, body = crate::http::error::Problem)))]
pub async fn get(cx: Ctx, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    let n = svc::get(&mut conn, &cx.caller, *id).await?;
    Ok(HttpResponse::Ok().insert_header(etag(n.version)).json(n))
}

/// `GET /api/v1/needs/{id}/events`: the whole history, oldest first.
#[utoipa::path(get, path = "/api/v1/needs/{id}/events", tag = "needs", params(("id" = Uuid, Path), EventQuery), security(("bearer" = [])), responses(
    (status = 200, body = Paged<EventOut>), (status = 404, body = crate::http::error::Problem)))]
pub async fn events(cx: Ctx, id: web::Path<Uuid>, q: Query<EventQuery>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    Ok(ok(&svc::events(&mut conn, &cx.caller, *id, q.0).await?))
}

/// `POST /api/v1/needs`: files a need for a person (`reported`, at the village's 村残协).
#[utoipa::path(post, path = "/api/v1/needs", tag = "needs", request_body = NeedIn,
    params(("Idempotency-Key" = Option<String>, Header, description = "replays the first answer for the same key and body")),
    security(("bearer" = [])), responses(
    (status = 201, body = NeedOut), (status = 403, body = crate::http::error::Problem),
    (status = 409, description = "the same key is still in flight (`conflict`), or the person already has an open need of this category (`possible_duplicate`, naming `existing_need_id` and `existing_case_number`; send `confirm_duplicate: true` to file it all the same)", body = crate::http::error::Problem),
    (status = 422, description = "invalid fields, or `idempotency_key_reused`", body = crate::http::error::Problem)))]
pub async fn create(cx: Ctx, key: IdempotencyKey, body: Body) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    match svc::file(&mut conn, &cx.caller, &body, key.0).await? {
        Filed::Created(n) => Ok(HttpResponse::Created()
            .insert_header(etag(n.version))
            .insert_header((header::LOCATION, format!("/api/v1/needs/{}", n.id)))
            .json(n)),
        Filed::Replayed { status, body } => {
            let status = actix_web::http::StatusCode::from_u16(status as u16)
                .unwrap_or(actix_web::http::StatusCode::CREATED);
            let mut reply = HttpResponse::build(status);
            reply.insert_header(("Idempotent-Replayed", "true"));
            if let Some(v) = body.get("version").and_then(serde_json::Value::as_i64) {
                reply.insert_header(etag(v as i32));
            }
            Ok(reply.json(body))
        }
    }
}

/// `POST /api/v1/needs/{id}/actions/{action}`: moves a need along the loop (`If-Match` required but for comments).
#[utoipa::path(post, path = "/api/v1/needs/{id}/actions/{action}", tag = "needs",
    params(("id" = Uuid, Path), ("action" = String, Path, description = "register, refer, accept, return, assign, escalate, reroute, resolve, verify, withdraw, comment"),
           ("If-Match" = Option<String>, Header, description = "the need's version (all actions but comment)")),
    request_body(content = Object, description = "RegisterIn, ReferIn, NoteIn, ReasonIn, AssignIn, ResolveIn, VerifyIn or CommentIn, by action"),
    security(("bearer" = [])), responses(
    (status = 200, body = NeedOut), (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem),
    (status = 409, description = "`invalid_transition` from this state", body = crate::http::error::Problem),
    (status = 412, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem), (status = 428, body = crate::http::error::Problem)))]
pub async fn act(
    req: HttpRequest,
    cx: Ctx,
    path: web::Path<(Uuid, String)>,
    body: Body,
) -> AppResult<HttpResponse> {
    let (id, action) = path.into_inner();
    let mut conn = cx.conn().await?;
    let n = svc::act(&mut conn, &cx.caller, id, &action, if_match(&req), &body).await?;
    Ok(HttpResponse::Ok().insert_header(etag(n.version)).json(n))
}
