//! 待办: the caller's inbox.

use actix_web::HttpResponse;

use super::ok;
use crate::http::caller::Ctx;
use crate::http::error::AppResult;
use crate::http::extract::Query;
use crate::service::inbox::{self as svc, InboxOut, InboxQuery};

/// `GET /api/v1/inbox`: the open needs waiting for the caller, most urgent first, with counts.
#[utoipa::path(get, path = "/api/v1/inbox", tag = "inbox", params(InboxQuery), security(("bearer" = [])), responses(
    (status = 200, body = InboxOut), (status = 401, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn get(cx: Ctx, q: Query<InboxQuery>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    Ok(ok(&svc::inbox(&mut conn, &cx.caller, q.0).await?))
}
