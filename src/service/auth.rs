//! Signing in (with the limits of `domain::sign_in`), refresh-token rotation (a reused token
//! revokes its whole family), signing out, and the caller's own account and password.

use chrono::{Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use utoipa::ToSchema;
use uuid::Uuid;

use super::users::UserOut;
use crate::auth::tokens::{new_refresh_token, refresh_token_hash, TokenKeys};
use crate::auth::{password, sessions};
use crate::db::models::tokens::NewRefreshToken;
use crate::db::models::users::{UserChanges, UserRow};
use crate::db::queries::login_limits::{self, Failure};
use crate::db::queries::{tokens, users};
use crate::domain::caller::Caller;
use crate::error::{Error, FieldError, Result};

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

/// What issuing a token pair takes: the access-token keys and the refresh-token lifetime.
#[derive(Clone, Copy)]
pub struct Issuer<'a> {
    /// Signs the access token.
    pub keys: &'a TokenKeys,
    /// Refresh-token lifetime in seconds.
    pub refresh_ttl_secs: i64,
}

fn bad_credentials() -> Error {
    Error::Unauthorized("invalid username or password")
}

/// `POST /auth/login`: a token pair for a valid username and password, from client address
/// `addr` (resolved by the caller, behind trusted proxies).
// Only failures count against the limits (`domain::sign_in`): the limits are read before the
// password is checked (a refused attempt costs no hashing), and read again under lock after
// it, so that attempts racing each other cannot together pass a limit; an attempt found past
// a limit then is answered 429 whatever its password, and a correct one learns nothing either.
pub async fn login(
    conn: &mut AsyncPgConnection,
    issuer: Issuer<'_>,
    addr: IpAddr,
    input: LoginIn,
) -> Result<TokenOut> {
    let user = authenticate(conn, addr, input).await?;
    issue_pair(conn, issuer, user, Uuid::now_v7()).await
}

/// The console's sign-in: the same check and limits as [`login`], then a console session
/// (an `HttpOnly` cookie's token and its CSRF token) instead of a token pair.
pub async fn console_sign_in(
    conn: &mut AsyncPgConnection,
    addr: IpAddr,
    input: LoginIn,
    idle: Duration,
) -> Result<sessions::Started> {
    let user = authenticate(conn, addr, input).await?;
    sessions::start(conn, user.id, idle).await
}

/// The user behind a username and password, within the sign-in limits (every sign-in, the
/// API's and the console's, passes here).
async fn authenticate(
    conn: &mut AsyncPgConnection,
    addr: IpAddr,
    input: LoginIn,
) -> Result<UserRow> {
    let LoginIn { username, password } = input;
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
    Error::check(errors)?;
    let key = username.trim().to_lowercase();
    let (before, _) = login_limits::standing(conn, addr, &key).await?;
    if let Some(wait) = before.retry_after() {
        return Err(Error::RateLimited(wait));
    }
    let user = users::by_login_name(conn, &key).await?;
    let stored = user
        .as_ref()
        .filter(|u| u.active)
        .map(|u| u.password_hash.clone());
    let ok = password::verify(password, stored).await?;
    let Some(user) = user.filter(|_| ok) else {
        return match login_limits::record_failure(conn, addr, &key).await? {
            Failure::Refused(wait) => Err(Error::RateLimited(wait)),
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
    let (after, has_failures) = login_limits::standing(conn, addr, &key).await?;
    if let Some(wait) = after.retry_after() {
        return Err(Error::RateLimited(wait));
    }
    if has_failures {
        login_limits::clear_account(conn, &key).await?;
    }
    Ok(user)
}

/// Writes a new refresh token of the family and signs an access token for the user.
async fn issue_pair(
    conn: &mut AsyncPgConnection,
    issuer: Issuer<'_>,
    user: UserRow,
    family: Uuid,
) -> Result<TokenOut> {
    let refresh = new_refresh_token();
    let row = NewRefreshToken {
        id: Uuid::now_v7(),
        family_id: family,
        user_id: user.id,
        token_hash: &refresh_token_hash(&refresh),
        expires_at: Utc::now() + Duration::seconds(issuer.refresh_ttl_secs),
    };
    tokens::insert(conn, &row).await?;
    let access = issuer.keys.issue(user.id).map_err(Error::internal)?;
    Ok(TokenOut {
        access_token: access,
        token_type: "Bearer",
        expires_in: issuer.keys.ttl_secs,
        refresh_token: refresh,
        user,
    })
}

/// `POST /auth/refresh`: trades a refresh token (once) for a new pair of the same family.
pub async fn refresh(
    conn: &mut AsyncPgConnection,
    issuer: Issuer<'_>,
    input: RefreshIn,
) -> Result<TokenOut> {
    let hash = refresh_token_hash(input.refresh_token.trim());
    // the inner error is a refusal whose revocation must still commit
    let result: Result<TokenOut> = conn
        .transaction::<_, Error, _>(async move |conn| {
            let row = tokens::lock_by_hash(conn, &hash)
                .await?
                .ok_or(Error::Unauthorized("invalid refresh token"))?;
            let now = Utc::now();
            if row.revoked_at.is_some() || row.expires_at <= now {
                return Err(Error::Unauthorized("invalid refresh token"));
            }
            if row.used_at.is_some() {
                // a spent token came back: someone holds a copy; end the whole login
                tokens::revoke_family(conn, row.family_id).await?;
                return Ok(Err(Error::Unauthorized(
                    "refresh token reused; session revoked",
                )));
            }
            tokens::mark_used(conn, row.id, now).await?;
            let user = users::find(conn, row.user_id).await?;
            if !user.active {
                return Err(Error::Unauthorized("user disabled"));
            }
            Ok(Ok(issue_pair(conn, issuer, user, row.family_id).await?))
        })
        .await?;
    result
}

/// `POST /auth/logout`: ends the session of the given refresh token (if it is the caller's),
/// or without one every session of the caller.
pub async fn logout(conn: &mut AsyncPgConnection, caller: &Caller, input: LogoutIn) -> Result<()> {
    match input.refresh_token {
        Some(t) => {
            let hash = refresh_token_hash(t.trim());
            if let Some(f) = tokens::family_of(conn, &hash, caller.user_id).await? {
                tokens::revoke_family(conn, f).await?;
            }
        }
        None => tokens::revoke_user(conn, caller.user_id).await?,
    }
    Ok(())
}

/// `GET /me`: the caller's own account and where it sits.
pub async fn me(conn: &mut AsyncPgConnection, caller: &Caller) -> Result<MeOut> {
    let user = users::find(conn, caller.user_id).await?;
    Ok(MeOut {
        user,
        org_unit_id: caller.unit_id,
        organization_kind: caller.org_kind.map(|k| k.as_str().to_string()),
    })
}

/// `POST /me/password`: changes the caller's password and ends every session.
pub async fn change_password(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    input: PasswordIn,
) -> Result<()> {
    let PasswordIn {
        current_password,
        new_password,
    } = input;
    if let Some(p) = password::policy_problem(&new_password) {
        return Err(Error::field("new_password", p));
    }
    let stored = users::find(conn, caller.user_id).await?.password_hash;
    if !password::verify(current_password, Some(stored)).await? {
        return Err(Error::field("current_password", "is not correct"));
    }
    let changes = UserChanges {
        password_hash: Some(password::hash(new_password).await?),
        password_changed_at: Some(Utc::now()),
        ..UserChanges::default()
    };
    let user = caller.user_id;
    conn.transaction::<_, Error, _>(async move |conn| {
        users::update(conn, user, &changes).await?;
        tokens::revoke_user(conn, user).await?;
        Ok(())
    })
    .await?;
    Ok(())
}
