//! The caller as an extractor: a verified bearer token, then the user loaded for this request.

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};
use std::future::Future;
use std::pin::Pin;
use uuid::Uuid;

use crate::auth::Caller;
use crate::db::DbConn;
use crate::http::error::{AppError, AppResult};
use crate::http::{AppState, Held};

/// A verified bearer token (signature and claims checked, user not yet loaded).
pub struct Bearer {
    /// The user id in `sub`.
    pub user_id: Uuid,
    /// `iat` of the token.
    pub issued_at: u64,
}

impl FromRequest for Bearer {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(bearer(req))
    }
}

fn bearer(req: &HttpRequest) -> AppResult<Bearer> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::internal("no app state"))?;
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(AppError::Unauthorized("missing bearer token"))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or(AppError::Unauthorized("missing bearer token"))?;
    let claims = state
        .tokens
        .check(token.trim())
        .ok_or(AppError::Unauthorized("invalid or expired token"))?;
    Ok(Bearer {
        user_id: claims.sub,
        issued_at: claims.iat,
    })
}

/// The caller, loaded from the database for this request: 401 before anything else.
impl FromRequest for Caller {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // loaded as a handler's context is (its first read retried once); the connection goes
        // back to the pool with the context
        let ctx = Ctx::from_request(req, payload);
        Box::pin(async move { Ok(ctx.await?.caller) })
    }
}

/// What an API handler starts from: the caller (401 before anything else), the app's state, and
/// the connection the caller was loaded on, which the handler's use case then runs on.
pub struct Ctx {
    /// The caller, loaded for this request.
    pub caller: Caller,
    /// The pool, the cipher and the settings.
    pub state: web::Data<AppState>,
    conn: Held,
}

impl Ctx {
    /// The request's connection for the use case (the first call; a later one is pooled), or
    /// 503 when the database cannot give one in time.
    pub async fn conn(&self) -> AppResult<DbConn> {
        self.conn.take(&self.state).await
    }
}

impl FromRequest for Ctx {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let bearer = bearer(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let bearer = bearer?;
            let state = state.ok_or_else(|| AppError::internal("no app state"))?;
            let (caller, conn) = state
                .read_with_retry(async |conn| {
                    Caller::load(conn, bearer.user_id, bearer.issued_at).await
                })
                .await?;
            Ok(Ctx {
                caller,
                state,
                conn: Held::new(conn),
            })
        })
    }
}
