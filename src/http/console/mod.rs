//! The web console (SPEC §6 "The console"): Chinese pages rendered on the server from
//! compile-time-checked templates (maud), plain forms that work without JavaScript, our own
//! CSS and a few lines of our own JS embedded in the binary. Pages call the same service
//! functions as the JSON API (`service::inbox`, `service::needs::{get, events, act, file}` …)
//! and ask the same `domain::need::permitted` rule for their buttons.
//!
//! Signing in starts a server-side session (`auth::sessions`) held in an `HttpOnly`,
//! `SameSite=Strict` cookie; every form carries the session's CSRF token, checked on every
//! POST. The console's routes are its own table ([`ROUTES`]): they are not part of the API's
//! `ROUTE_TABLE`, so the OpenAPI document knows nothing of them, and a console cookie never
//! reaches an API handler (those read only `Authorization: Bearer`).

mod assets;
mod attachments;
mod auth;
mod form;
mod inbox;
mod layout;
mod mine;
mod need_view;
mod needs;
mod notifications;
mod person;
mod person_view;
mod persons;
mod report_view;
mod reports;
mod session;
mod view;
pub mod zh;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder, ResponseError};
use maud::Markup;

use crate::error::Error;
use crate::http::error::AsProblem;
pub use session::Me;

/// `?done=` after a form posted and redirected back (303): what just succeeded, for the page's
/// status notice.
#[derive(Debug, serde::Deserialize)]
pub struct Done {
    done: Option<String>,
}

/// How the console's sessions behave (from `CONSOLE_IDLE_MINUTES` and `PUBLIC_URL`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// A session not used for this long ends.
    pub idle: chrono::Duration,
    /// The session cookie is `Secure` (the service is reached over https).
    pub secure_cookie: bool,
}

macro_rules! console_routes {
    ($( $method:ident $path:literal => $handler:path ),* $(,)?) => {
        /// (method, path) of every console page and form: not part of the API's `ROUTE_TABLE`
        /// nor of its OpenAPI document.
        pub const ROUTES: &[(&str, &str)] = &[ $( (stringify!($method), $path) ),* ];

        /// Registers the console's routes (an `{id}` segment matches only a UUID).
        pub fn configure(cfg: &mut web::ServiceConfig) {
            $( cfg.service(super::routes::resource(stringify!($method), $path).to($handler)); )*
        }
    };
}

console_routes! {
    get "/" => inbox::page,
    get "/my" => mine::page,
    get "/login" => auth::form,
    post "/login" => auth::sign_in,
    post "/logout" => auth::sign_out,
    get "/needs/{id}" => needs::page,
    post "/needs/{id}/attachments" => attachments::to_need,
    post "/needs/{id}/{action}" => needs::act,
    get "/persons" => persons::search,
    get "/persons/new" => persons::new_form,
    post "/persons/new" => persons::create,
    get "/persons/{id}" => person::page,
    post "/persons/{id}/reveal" => person::reveal,
    post "/persons/{id}/visits" => person::visit,
    post "/persons/{id}/attachments" => attachments::to_person,
    get "/persons/{id}/group" => person::group_form,
    post "/persons/{id}/group" => person::set_group,
    get "/persons/{id}/needs/new" => needs::file_form,
    post "/persons/{id}/needs/new" => needs::file,
    get "/notifications" => notifications::page,
    post "/notifications/read-all" => notifications::read_all,
    post "/notifications/{id}/read" => notifications::read,
    get "/reports/coverage" => reports::coverage,
    get "/reports/sla" => reports::sla,
    get "/attachments/{id}" => attachments::download,
    get "/static/{file}" => assets::serve,
}

/// The policy every console answer carries: nothing inline, nothing from elsewhere.
pub const CSP: &str = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/// The security headers of every console answer.
const SECURITY: [(header::HeaderName, &str); 4] = [
    (header::CONTENT_SECURITY_POLICY, CSP),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "same-origin"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
];

/// The security headers of every console answer (pages, redirects, assets).
fn guarded(mut res: HttpResponseBuilder) -> HttpResponseBuilder {
    for (name, value) in SECURITY {
        res.insert_header((name, value));
    }
    res
}

/// The security headers on an answer built elsewhere (a report's download, which is the API's).
fn guarded_download(headers: &mut header::HeaderMap) {
    for (name, value) in SECURITY {
        headers.insert(name, header::HeaderValue::from_static(value));
    }
}

/// A page: HTML, never cached.
pub fn html(status: StatusCode, page: Markup) -> HttpResponse {
    html_with(status, page, &[])
}

/// A page with cookies to set.
pub fn html_with(status: StatusCode, page: Markup, cookies: &[String]) -> HttpResponse {
    let mut res = guarded(HttpResponse::build(status));
    res.content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"));
    for c in cookies {
        res.append_header((header::SET_COOKIE, c.as_str()));
    }
    res.body(page.into_string())
}

/// 303 See Other to a console path (after a form, or to the sign-in page).
pub fn see_other(location: &str, cookies: &[String]) -> HttpResponse {
    let mut res = guarded(HttpResponse::SeeOther());
    res.insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    for c in cookies {
        res.append_header((header::SET_COOKIE, c.as_str()));
    }
    res.finish()
}

/// Why a console request got no page of its own: each renders as a Chinese page (or, for a
/// missing session, a redirect to the sign-in page).
#[derive(Debug)]
pub enum Refusal {
    /// Not signed in (or the session ended): to the sign-in page, then back to this path.
    SignIn(Option<String>),
    /// A form without the session's CSRF token, or with another one: 403.
    Csrf,
    /// What a use case answered.
    Failed(Error),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::SignIn(_) => f.write_str("not signed in"),
            Refusal::Csrf => f.write_str("CSRF token missing or wrong"),
            Refusal::Failed(e) => write!(f, "{e}"),
        }
    }
}

impl From<Error> for Refusal {
    fn from(e: Error) -> Self {
        match e {
            Error::Unauthorized(_) => Refusal::SignIn(None),
            e => Refusal::Failed(e),
        }
    }
}

impl ResponseError for Refusal {
    fn status_code(&self) -> StatusCode {
        match self {
            Refusal::SignIn(_) => StatusCode::SEE_OTHER,
            Refusal::Csrf => StatusCode::FORBIDDEN,
            Refusal::Failed(e) => e.parts().0,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Refusal::SignIn(next) => {
                let to = match next {
                    Some(n) => format!("/login?next={}", zh::url_encode(n)),
                    None => "/login".to_string(),
                };
                see_other(&to, &[])
            }
            Refusal::Csrf => html(
                StatusCode::FORBIDDEN,
                layout::bare(
                    "无法提交",
                    "表单已过期或来源不明，未做任何更改。请返回上一页，刷新后重新提交。",
                ),
            ),
            Refusal::Failed(e) => {
                let status = e.parts().0;
                if status.is_server_error() {
                    tracing::error!(error = %e, "console: request failed");
                }
                let (title, text) = zh::refusal(e);
                let mut res = html(status, layout::bare(title, text));
                let retry = match e {
                    Error::RateLimited(wait) => Some(*wait),
                    Error::Unavailable(_) => Some(1),
                    _ => None,
                };
                if let Some(v) =
                    retry.and_then(|w| header::HeaderValue::from_str(&w.to_string()).ok())
                {
                    res.headers_mut().insert(header::RETRY_AFTER, v);
                }
                res
            }
        }
    }
}

/// What a console handler answers.
pub type Html = Result<HttpResponse, Refusal>;

/// Whether an unrouted request is a person's browser asking for a page (it then gets a
/// Chinese 404 page instead of problem+json).
pub fn wants_page(req: &HttpRequest) -> bool {
    !req.path().starts_with("/api/")
        && req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"))
}

/// The console's 404 page.
pub fn not_found() -> HttpResponse {
    Refusal::Failed(Error::NotFound).error_response()
}
