//! Registered disabled persons, their 三帮一 contact groups and visits: the handlers.

use actix_web::{web, HttpRequest, HttpResponse};
use uuid::Uuid;

use super::{created, ok, Paged};
use crate::http::caller::Ctx;
use crate::http::error::AppResult;
use crate::http::extract::{etag, if_match, Body, Page, PageQuery, Query};
use crate::service::groups::{self, GroupIn, GroupOut};
use crate::service::persons::{
    self as svc, PersonIn, PersonOut, PersonPatch, PersonQuery, RevealQuery,
};
use crate::service::visits::{self, VisitIn, VisitOut};

/// A person with its version as the `ETag`.
fn with_etag(mut res: actix_web::HttpResponseBuilder, out: &PersonOut) -> HttpResponse {
    res.insert_header(etag(out.version)).json(out)
}

/// `POST /api/v1/persons`: registers a person in a village of the caller's scope.
#[utoipa::path(post, path = "/api/v1/persons", tag = "persons", request_body = PersonIn, security(("bearer" = [])), responses(
    (status = 201, body = PersonOut), (status = 403, body = crate::http::error::Problem),
    (status = 409, description = "this ID number is already registered (`duplicate`)", body = crate::http::error::Problem),
    (status = 422, body = crate::http::error::Problem)))]
pub async fn create(cx: Ctx, body: Body) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    let out = svc::create(&mut conn, &cx.caller, &cx.state.pii, || body.json()).await?;
    Ok(with_etag(HttpResponse::Created(), &out))
}

/// `GET /api/v1/persons`: persons in scope, filtered, keyset-paginated.
#[utoipa::path(get, path = "/api/v1/persons", tag = "persons", params(PersonQuery), security(("bearer" = [])), responses(
    (status = 200, body = Paged<PersonOut>), (status = 401, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn list(cx: Ctx, q: Query<PersonQuery>) -> AppResult<HttpResponse> {
    let page = Page::new(q.0.limit, q.0.cursor.as_deref())?;
    let mut conn = cx.conn().await?;
    let rows = svc::list(
        &mut conn,
        &cx.caller,
        &cx.state.pii,
        q.0,
        page.limit + 1,
        page.after,
    )
    .await?;
    let (items, next_cursor) = page.finish(rows, |r| r.id);
    Ok(ok(&Paged { items, next_cursor }))
}

/// `GET /api/v1/persons/{id}`: one person, masked; `?reveal=id_number` shows the numbers (audited).
#[utoipa::path(get, path = "/api/v1/persons/{id}", tag = "persons", params(("id" = Uuid, Path), RevealQuery), security(("bearer" = [])), responses(
    (status = 200, body = PersonOut, headers(("ETag" = String, description = "the version"))),
    (status = 403, description = "your role may not reveal", body = crate::http::error::Problem),
    (status = 404, body = crate::http::error::Problem)))]
pub async fn get(cx: Ctx, id: web::Path<Uuid>, q: Query<RevealQuery>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    let reveal = q.0.reveal.as_deref();
    let out = svc::get(&mut conn, &cx.caller, &cx.state.pii, *id, reveal).await?;
    Ok(with_etag(HttpResponse::Ok(), &out))
}

/// `PATCH /api/v1/persons/{id}`: updates with `If-Match`; transfers with `village_id` (the person's
/// open needs go along, a `transfer` event each); `status` `deceased` or `moved_out` withdraws them.
#[utoipa::path(patch, path = "/api/v1/persons/{id}", tag = "persons", params(("id" = Uuid, Path),
    ("If-Match" = String, Header, description = "the version from the ETag")), request_body = PersonPatch, security(("bearer" = [])), responses(
    (status = 200, body = PersonOut), (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem),
    (status = 412, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem), (status = 428, body = crate::http::error::Problem)))]
pub async fn patch(
    req: HttpRequest,
    cx: Ctx,
    id: web::Path<Uuid>,
    body: Body,
) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    // read now, refused only after the 404 and the 403
    let expected = if_match(&req);
    let out = svc::patch(&mut conn, &cx.caller, &cx.state.pii, *id, expected, || {
        body.json()
    })
    .await?;
    Ok(with_etag(HttpResponse::Ok(), &out))
}

/// `GET /api/v1/persons/{id}/contact-group`: the person's 三帮一 group.
#[utoipa::path(get, path = "/api/v1/persons/{id}/contact-group", tag = "persons", params(("id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 200, body = GroupOut), (status = 404, body = crate::http::error::Problem)))]
pub async fn get_group(cx: Ctx, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    Ok(ok(&groups::get(&mut conn, &cx.caller, *id).await?))
}

/// `PUT /api/v1/persons/{id}/contact-group`: sets all three helpers at once.
#[utoipa::path(put, path = "/api/v1/persons/{id}/contact-group", tag = "persons", params(("id" = Uuid, Path)), request_body = GroupIn, security(("bearer" = [])), responses(
    (status = 200, body = GroupOut), (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem),
    (status = 409, description = "the person is not active", body = crate::http::error::Problem),
    (status = 422, description = "not three distinct active helpers of the town with room", body = crate::http::error::Problem)))]
pub async fn put_group(cx: Ctx, id: web::Path<Uuid>, body: Body) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    Ok(ok(&groups::put(&mut conn, &cx.caller, *id, || {
        body.json::<GroupIn>()
    })
    .await?))
}

/// `GET /api/v1/persons/{id}/visits`: the person's visits, oldest first.
#[utoipa::path(get, path = "/api/v1/persons/{id}/visits", tag = "persons", params(("id" = Uuid, Path), PageQuery), security(("bearer" = [])), responses(
    (status = 200, body = Paged<VisitOut>), (status = 404, body = crate::http::error::Problem)))]
pub async fn list_visits(
    cx: Ctx,
    id: web::Path<Uuid>,
    q: Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let page = Page::new(q.0.limit, q.0.cursor.as_deref())?;
    let mut conn = cx.conn().await?;
    let rows = visits::list(&mut conn, &cx.caller, *id, page.limit + 1, page.after).await?;
    let (items, next_cursor) = page.finish(rows, |r| r.id);
    Ok(ok(&Paged { items, next_cursor }))
}

/// `POST /api/v1/persons/{id}/visits`: records a visit.
#[utoipa::path(post, path = "/api/v1/persons/{id}/visits", tag = "persons", params(("id" = Uuid, Path)), request_body = VisitIn, security(("bearer" = [])), responses(
    (status = 201, body = VisitOut), (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem),
    (status = 422, body = crate::http::error::Problem)))]
pub async fn create_visit(cx: Ctx, id: web::Path<Uuid>, body: Body) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    let out = visits::create(&mut conn, &cx.caller, *id, || body.json::<VisitIn>()).await?;
    Ok(created(&out))
}
