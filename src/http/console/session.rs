//! The signed-in person behind a console request (`Me`), its cookie, and the CSRF check.

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};
use chrono_tz::Tz;
use std::future::Future;
use std::pin::Pin;

use super::form::Form;
use super::{Refusal, Settings};
use crate::auth::sessions::{self, same_secret, COOKIE};
use crate::auth::Caller;
use crate::error::Error;
use crate::http::{AppState, Held};
use crate::service::{city, notifications};

/// The signed-in user of a console request, with what every page shows of it: the session's
/// CSRF token (for its forms), the unread notifications, the city's time zone, the path.
pub struct Me {
    /// Who it is, loaded for this request as a bearer token's user is.
    pub caller: Caller,
    /// The session's CSRF token.
    pub csrf: String,
    /// Unread notifications (the header's count).
    pub unread: i64,
    /// The city's time zone: every time is shown in it.
    pub tz: Tz,
    /// This request's path (the navigation marks where the user is).
    pub path: String,
    /// The connection the session was resumed on, for the page's use case.
    conn: Held,
}

impl Me {
    /// Refuses a form that does not carry this session's CSRF token (403, nothing done).
    pub fn check(&self, form: &Form) -> Result<(), Refusal> {
        self.check_token(form.get("csrf"))
    }

    /// The request's connection for the page's use case (the one the session was resumed on,
    /// the first time; a pooled one after).
    pub async fn conn(&self, state: &AppState) -> crate::error::Result<crate::db::DbConn> {
        self.conn.take(state).await
    }

    /// Refuses a CSRF token that is not this session's (a multipart form's hidden field).
    pub fn check_token(&self, token: Option<&str>) -> Result<(), Refusal> {
        match token {
            Some(t) if same_secret(t, &self.csrf) => Ok(()),
            _ => Err(Refusal::Csrf),
        }
    }
}

impl FromRequest for Me {
    type Error = Refusal;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = cookie(req, COOKIE);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let path = req.path().to_string();
        // after signing in, a person lands where they were going (a page, never a form's target)
        let back =
            (req.method() == actix_web::http::Method::GET).then(|| match req.query_string() {
                "" => path.clone(),
                q => format!("{path}?{q}"),
            });
        Box::pin(async move {
            let state = state.ok_or_else(|| Refusal::Failed(Error::internal("no app state")))?;
            let token = token.ok_or(Refusal::SignIn(back.clone()))?;
            let idle = state.console.idle;
            let (session, mut conn) = state
                .read_with_retry(async |conn| sessions::resume(conn, &token, idle).await)
                .await?;
            let session = session.ok_or(Refusal::SignIn(back))?;
            let unread = notifications::unread(&mut conn, &session.caller).await?;
            let tz = city::time_zone(&mut conn, &session.caller).await?;
            Ok(Me {
                caller: session.caller,
                csrf: session.csrf,
                unread,
                tz,
                path,
                conn: Held::new(conn),
            })
        })
    }
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Strict`, `Path=/`, `Secure` over https;
/// `max_age` in seconds (none: until the browser closes; 0: delete it now).
pub fn set_cookie(name: &str, value: &str, settings: &Settings, max_age: Option<i64>) -> String {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if settings.secure_cookie {
        c.push_str("; Secure");
    }
    c
}
