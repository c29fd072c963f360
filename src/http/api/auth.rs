//! Sign-in, token refresh, sign-out, the caller's own account: the handlers.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::http::caller::Ctx;
use crate::http::client_addr;
use crate::http::error::AppResult;
use crate::http::extract::{Body, Json};
use crate::http::AppState;
use crate::service::auth::{
    self as svc, Issuer, LoginIn, LogoutIn, MeOut, PasswordIn, RefreshIn, TokenOut,
};

/// What the service needs to issue token pairs, from the app's state.
fn issuer(state: &AppState) -> Issuer<'_> {
    Issuer {
        keys: &state.tokens,
        refresh_ttl_secs: state.refresh_ttl_secs,
    }
}

/// `POST /api/v1/auth/login`: a token pair for a valid username and password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginIn, responses(
    (status = 200, body = TokenOut),
    (status = 400, description = "the body is not JSON (`malformed_body`)", body = crate::http::error::Problem),
    (status = 401, description = "wrong username or password (the two are indistinguishable)", body = crate::http::error::Problem),
    (status = 422, body = crate::http::error::Problem),
    (status = 429, description = "the account name failed 5 times within 15 minutes (locked for 15 minutes), or the client address failed 30 times within a minute (`rate_limited`; wait `Retry-After` seconds)", body = crate::http::error::Problem)))]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<LoginIn>,
) -> AppResult<HttpResponse> {
    let addr = client_addr::of_request(&req, &state.trusted_proxies);
    let mut conn = state.conn().await?;
    let out = svc::login(&mut conn, issuer(&state), addr, body.0).await?;
    Ok(HttpResponse::Ok().json(out))
}

/// `POST /api/v1/auth/refresh`: trades a refresh token (once) for a new pair.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshIn, responses(
    (status = 200, body = TokenOut),
    (status = 401, description = "garbage, expired, revoked or reused token (reuse revokes the whole family)", body = crate::http::error::Problem)))]
pub async fn refresh(state: web::Data<AppState>, body: Json<RefreshIn>) -> AppResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let out = svc::refresh(&mut conn, issuer(&state), body.0).await?;
    Ok(HttpResponse::Ok().json(out))
}

/// `POST /api/v1/auth/logout`: ends this session (or all of the caller's sessions).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body(content = Option<LogoutIn>), security(("bearer" = [])), responses(
    (status = 204, description = "signed out"),
    (status = 401, body = crate::http::error::Problem)))]
pub async fn logout(cx: Ctx, body: Body) -> AppResult<HttpResponse> {
    // no body, `null` and `{}` all mean "every session"
    let input: LogoutIn = if body.is_empty() {
        LogoutIn::default()
    } else {
        body.json::<Option<LogoutIn>>()?.unwrap_or_default()
    };
    let mut conn = cx.conn().await?;
    svc::logout(&mut conn, &cx.caller, input).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /api/v1/me`: who am I.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])), responses(
    (status = 200, body = MeOut), (status = 401, body = crate::http::error::Problem)))]
pub async fn me(cx: Ctx) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    Ok(HttpResponse::Ok().json(svc::me(&mut conn, &cx.caller).await?))
}

/// `POST /api/v1/me/password`: changes the caller's password and ends every session.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "auth", request_body = PasswordIn, security(("bearer" = [])), responses(
    (status = 204, description = "changed; all refresh tokens revoked"),
    (status = 401, body = crate::http::error::Problem),
    (status = 422, description = "wrong current password or weak new one", body = crate::http::error::Problem)))]
pub async fn change_password(cx: Ctx, body: Json<PasswordIn>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    svc::change_password(&mut conn, &cx.caller, body.0).await?;
    Ok(HttpResponse::NoContent().finish())
}
