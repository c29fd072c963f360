//! Sign-in, token refresh, sign-out, the caller's own account.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::users::{UserOut, UserRow};
use crate::auth::tokens::{new_refresh_token, refresh_token_hash};
use crate::auth::{password, Caller};
use crate::db::queries::login_limits::{self, Failure};
use crate::db::schema::{refresh_tokens, users};
use crate::http::client_addr;
use crate::http::error::{AppError, AppResult, FieldError};
use crate::http::extract::Json;
use crate::http::AppState;

/// `POST /auth/login` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginIn {
    /// The login name (case-insensitive).
    pub username: String,
    /// The password.
    pub password: String,
}

/// A token pair and the signed-in user.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenOut {
    /// JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// One-time token for `POST /auth/refresh`.
    pub refresh_token: String,
    /// The user.
    pub user: UserOut,
}

/// `POST /auth/refresh` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshIn {
    /// A refresh token from login or a previous refresh.
    pub refresh_token: String,
}

/// `POST /auth/logout` body (optional).
#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct LogoutIn {
    /// End only this session; without it every session of the user ends.
    pub refresh_token: Option<String>,
}

/// `POST /me/password` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordIn {
    /// The current password.
    pub current_password: String,
    /// The new password (8–128 characters).
    pub new_password: String,
}

fn bad_credentials() -> AppError {
    AppError::Unauthorized("invalid username or password")
}

/// `POST /api/v1/auth/login`: a token pair for a valid username and password.
// Only failures count against the limits (`domain::sign_in`): the limits are read before the
// password is checked (a refused attempt costs no hashing), and read again under lock after
// it, so that attempts racing each other cannot together pass a limit; an attempt found past
// a limit then is answered 429 whatever its password, and a correct one learns nothing either.
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
    let LoginIn { username, password } = body.0;
    let mut errors = Vec::new();
    if username.trim().is_empty() || username.len() > 64 {
        errors.push(FieldError::new(
            "username",
            "is required (at most 64 characters)",
        ));
    }
    if password.is_empty() || password.len() > 1024 {
        errors.push(FieldError::new("password", "is required"));
    }
    AppError::check(errors)?;
    let addr = client_addr::of_request(&req, &state.trusted_proxies);
    let key = username.trim().to_lowercase();
    let mut conn = state.conn().await?;
    let (before, _) = login_limits::standing(&mut conn, addr, &key).await?;
    if let Some(wait) = before.retry_after() {
        return Err(AppError::RateLimited(wait));
    }
    let user: Option<UserRow> = users::table
        .filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("lower(username) = ")
                .bind::<diesel::sql_types::Text, _>(&key),
        )
        .select(UserRow::as_select())
        .first(&mut conn)
        .await
        .optional()?;
    let stored = user
        .as_ref()
        .filter(|u| u.active)
        .map(|u| u.password_hash.clone());
    let ok = password::verify(password, stored).await?;
    let Some(user) = user.filter(|_| ok) else {
        return match login_limits::record_failure(&mut conn, addr, &key).await? {
            Failure::Refused(wait) => Err(AppError::RateLimited(wait)),
            Failure::Counted { locked } => {
                if locked {
                    tracing::warn!(%addr, account = %key, "sign-in: account name locked after repeated failures");
                }
                Err(bad_credentials())
            }
        };
    };
    // a success writes no count; it only reads that no limit was reached meanwhile, and
    // forgets its account's failures when there are any
    let (after, has_failures) = login_limits::standing(&mut conn, addr, &key).await?;
    if let Some(wait) = after.retry_after() {
        return Err(AppError::RateLimited(wait));
    }
    if has_failures {
        login_limits::clear_account(&mut conn, &key).await?;
    }
    let out = issue_pair(&state, &mut conn, user, Uuid::now_v7()).await?;
    Ok(HttpResponse::Ok().json(out))
}

async fn issue_pair(
    state: &AppState,
    conn: &mut diesel_async::AsyncPgConnection,
    user: UserRow,
    family: Uuid,
) -> AppResult<TokenOut> {
    let refresh = new_refresh_token();
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::id.eq(Uuid::now_v7()),
            refresh_tokens::family_id.eq(family),
            refresh_tokens::user_id.eq(user.id),
            refresh_tokens::token_hash.eq(refresh_token_hash(&refresh)),
            refresh_tokens::expires_at.eq(Utc::now() + Duration::seconds(state.refresh_ttl_secs)),
        ))
        .execute(conn)
        .await?;
    let access = state.tokens.issue(user.id).map_err(AppError::internal)?;
    Ok(TokenOut {
        access_token: access,
        token_type: "Bearer",
        expires_in: state.tokens.ttl_secs,
        refresh_token: refresh,
        user: user.into(),
    })
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
struct RefreshRow {
    id: Uuid,
    family_id: Uuid,
    user_id: Uuid,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

/// `POST /api/v1/auth/refresh`: trades a refresh token (once) for a new pair.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshIn, responses(
    (status = 200, body = TokenOut),
    (status = 401, description = "garbage, expired, revoked or reused token (reuse revokes the whole family)", body = crate::http::error::Problem)))]
pub async fn refresh(state: web::Data<AppState>, body: Json<RefreshIn>) -> AppResult<HttpResponse> {
    let hash = refresh_token_hash(body.0.refresh_token.trim());
    let mut conn = state.conn().await?;
    let state2 = state.clone();
    let result: Result<TokenOut, AppError> = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let row: Option<RefreshRow> = refresh_tokens::table
                .filter(refresh_tokens::token_hash.eq(&hash))
                .select(RefreshRow::as_select())
                .for_update()
                .first(conn)
                .await
                .optional()?;
            let row = row.ok_or(AppError::Unauthorized("invalid refresh token"))?;
            let now = Utc::now();
            if row.revoked_at.is_some() || row.expires_at <= now {
                return Err(AppError::Unauthorized("invalid refresh token"));
            }
            if row.used_at.is_some() {
                // a spent token came back: someone holds a copy; end the whole login
                revoke_family(conn, row.family_id).await?;
                return Ok(Err(AppError::Unauthorized(
                    "refresh token reused; session revoked",
                )));
            }
            diesel::update(refresh_tokens::table.find(row.id))
                .set(refresh_tokens::used_at.eq(now))
                .execute(conn)
                .await?;
            let user: UserRow = users::table
                .find(row.user_id)
                .select(UserRow::as_select())
                .first(conn)
                .await?;
            if !user.active {
                return Err(AppError::Unauthorized("user disabled"));
            }
            Ok(Ok(issue_pair(&state2, conn, user, row.family_id).await?))
        })
        .await?;
    Ok(HttpResponse::Ok().json(result?))
}

async fn revoke_family(conn: &mut diesel_async::AsyncPgConnection, family: Uuid) -> AppResult<()> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(Utc::now()))
    .execute(conn)
    .await?;
    Ok(())
}

/// Revokes every live refresh token of a user (password change, disabling).
pub async fn revoke_user_tokens(
    conn: &mut diesel_async::AsyncPgConnection,
    user_id: Uuid,
) -> AppResult<()> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::user_id.eq(user_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(Utc::now()))
    .execute(conn)
    .await?;
    Ok(())
}

/// `POST /api/v1/auth/logout`: ends this session (or all of the caller's sessions).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body(content = Option<LogoutIn>), security(("bearer" = [])), responses(
    (status = 204, description = "signed out"),
    (status = 401, body = crate::http::error::Problem)))]
pub async fn logout(
    caller: Caller,
    state: web::Data<AppState>,
    body: crate::http::extract::Body,
) -> AppResult<HttpResponse> {
    // no body, `null` and `{}` all mean "every session"
    let input: LogoutIn = if body.is_empty() {
        LogoutIn::default()
    } else {
        body.json::<Option<LogoutIn>>()?.unwrap_or_default()
    };
    let mut conn = state.conn().await?;
    match input.refresh_token {
        Some(t) => {
            let family: Option<Uuid> = refresh_tokens::table
                .filter(refresh_tokens::token_hash.eq(refresh_token_hash(t.trim())))
                .filter(refresh_tokens::user_id.eq(caller.user_id))
                .select(refresh_tokens::family_id)
                .first(&mut conn)
                .await
                .optional()?;
            if let Some(f) = family {
                revoke_family(&mut conn, f).await?;
            }
        }
        None => revoke_user_tokens(&mut conn, caller.user_id).await?,
    }
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's own account and where it sits.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeOut {
    /// The user.
    #[serde(flatten)]
    pub user: UserOut,
    /// The unit the caller's scope starts at (null for the deployment admin: everything).
    pub org_unit_id: Option<Uuid>,
    /// The kind of the caller's organisation.
    pub organization_kind: Option<String>,
}

/// `GET /api/v1/me`: who am I.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])), responses(
    (status = 200, body = MeOut), (status = 401, body = crate::http::error::Problem)))]
pub async fn me(caller: Caller, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let user: UserRow = users::table
        .find(caller.user_id)
        .select(UserRow::as_select())
        .first(&mut conn)
        .await?;
    Ok(HttpResponse::Ok().json(MeOut {
        user: user.into(),
        org_unit_id: caller.unit_id,
        organization_kind: caller.org_kind.map(|k| k.as_str().to_string()),
    }))
}

/// `POST /api/v1/me/password`: changes the caller's password and ends every session.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "auth", request_body = PasswordIn, security(("bearer" = [])), responses(
    (status = 204, description = "changed; all refresh tokens revoked"),
    (status = 401, body = crate::http::error::Problem),
    (status = 422, description = "wrong current password or weak new one", body = crate::http::error::Problem)))]
pub async fn change_password(
    caller: Caller,
    state: web::Data<AppState>,
    body: Json<PasswordIn>,
) -> AppResult<HttpResponse> {
    let PasswordIn {
        current_password,
        new_password,
    } = body.0;
    if let Some(p) = password::policy_problem(&new_password) {
        return Err(AppError::field("new_password", p));
    }
    let mut conn = state.conn().await?;
    let stored: String = users::table
        .find(caller.user_id)
        .select(users::password_hash)
        .first(&mut conn)
        .await?;
    if !password::verify(current_password, Some(stored)).await? {
        return Err(AppError::field("current_password", "is not correct"));
    }
    let hash = password::hash(new_password).await?;
    conn.transaction::<_, AppError, _>(async move |conn| {
        diesel::update(users::table.find(caller.user_id))
            .set((
                users::password_hash.eq(hash),
                users::password_changed_at.eq(Utc::now()),
            ))
            .execute(conn)
            .await?;
        revoke_user_tokens(conn, caller.user_id).await
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
