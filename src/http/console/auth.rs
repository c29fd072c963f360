//! 登录 and 退出. Signing in goes through the same service sign-in as `POST /api/v1/auth/login`
//! (its limits apply), then starts a console session instead of issuing tokens. The sign-in form
//! has no session yet: its CSRF token is a random value in a short-lived `SameSite=Strict`
//! cookie of its own, which the form must repeat (a form posted from elsewhere carries neither).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};

use super::form::Form;
use super::layout::{bare_page, Notice};
use super::session::{cookie, set_cookie};
use super::view::Fields;
use super::{html_with, see_other, Html, Me, Refusal};
use crate::auth::sessions::{same_secret, COOKIE};
use crate::auth::tokens::new_refresh_token;
use crate::error::Error;
use crate::http::{client_addr, AppState};
use crate::service::auth::{self as svc, LoginIn};

/// The sign-in form's own CSRF cookie.
const LOGIN_COOKIE: &str = "zhucan_login";

/// Where to go after signing in: a console path of this site, or 待办.
fn next_of(req: &HttpRequest) -> String {
    let next = form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next
    } else {
        "/".to_string()
    }
}

/// `GET /login`: the sign-in form.
pub async fn form(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let token = cookie(&req, LOGIN_COOKIE).unwrap_or_else(new_refresh_token);
    let set = set_cookie(LOGIN_COOKIE, &token, &state.console, Some(3600));
    let page = sign_in_page(&token, &next_of(&req), &Fields::new("login"), Notice::None);
    html_with(StatusCode::OK, page, &[set])
}

/// `POST /login`: signs in and starts a session, or shows the form again with why not.
pub async fn sign_in(req: HttpRequest, state: web::Data<AppState>, form: Form) -> Html {
    let token = cookie(&req, LOGIN_COOKIE).unwrap_or_default();
    if token.is_empty() || !same_secret(form.value("csrf"), &token) {
        return Err(Refusal::Csrf);
    }
    let input = LoginIn {
        username: form.value("username").to_string(),
        password: form.value("password").to_string(),
    };
    let addr = client_addr::of_request(&req, &state.trusted_proxies);
    let mut conn = state.conn().await?;
    let next = next_of(&req);
    match svc::console_sign_in(&mut conn, addr, input, state.console.idle).await {
        Ok(s) => {
            let session = set_cookie(COOKIE, &s.token, &state.console, None);
            let gone = set_cookie(LOGIN_COOKIE, "", &state.console, Some(0));
            Ok(see_other(&next, &[session, gone]))
        }
        Err(e) => refused(&token, &next, &form, e),
    }
}

/// The form again, with the reason a sign-in was refused.
fn refused(token: &str, next: &str, form: &Form, e: Error) -> Html {
    let (status, notice, errors) = match e {
        Error::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "用户名或密码不正确。", vec![]),
        Error::RateLimited(wait) => {
            let minutes = wait.div_ceil(60).max(1);
            let text = format!("登录失败次数过多，已暂时锁定。请 {minutes} 分钟后再试。");
            let page = sign_in_page(token, next, &Fields::new("login"), problem(&text));
            let mut res = html_with(StatusCode::TOO_MANY_REQUESTS, page, &[]);
            if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&wait.to_string()) {
                res.headers_mut()
                    .insert(actix_web::http::header::RETRY_AFTER, v);
            }
            return Ok(res);
        }
        Error::Validation { errors, .. } => (StatusCode::UNPROCESSABLE_ENTITY, "", errors),
        e => return Err(e.into()),
    };
    let fields = Fields {
        prefix: "login",
        posted: Some(form),
        errors: &errors,
    };
    let notice = if notice.is_empty() {
        Notice::None
    } else {
        problem(notice)
    };
    Ok(html_with(
        status,
        sign_in_page(token, next, &fields, notice),
        &[],
    ))
}

fn problem(text: &str) -> Notice {
    Notice::Problem(html! { p { (text) } })
}

/// `POST /logout`: ends the session (its row is deleted) and forgets the cookie.
pub async fn sign_out(req: HttpRequest, me: Me, state: web::Data<AppState>, form: Form) -> Html {
    me.check(&form)?;
    let mut conn = state.conn().await?;
    if let Some(token) = cookie(&req, COOKIE) {
        crate::auth::sessions::end(&mut conn, &token).await?;
    }
    let gone = set_cookie(COOKIE, "", &state.console, Some(0));
    Ok(see_other("/login", &[gone]))
}

fn sign_in_page(token: &str, next: &str, fields: &Fields<'_>, notice: Notice) -> Markup {
    let action = if next == "/" {
        "/login".to_string()
    } else {
        format!("/login?next={}", super::zh::url_encode(next))
    };
    // the password never comes back into the page
    let password = Fields {
        posted: None,
        ..*fields
    };
    bare_page(
        "登录",
        notice,
        html! {
            (fields.summary())
            form method="post" action=(action) {
                (super::view::csrf(token))
                (fields.input("username", "用户名", "text", None))
                (password.input("password", "密码", "password", None))
                button type="submit" { "登录" }
            }
        },
    )
}
