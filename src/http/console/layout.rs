//! The page every console page sits in: `lang="zh-CN"`, a skip link, the header (product,
//! user, unread notifications, sign-out), the navigation, `main` with the page's one `h1`.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::assets;
use super::Me;

/// The product's name in the header and the window title.
pub const PRODUCT: &str = "助残工作台";

/// A message at the top of a page: what just succeeded, or what went wrong with the whole form.
pub enum Notice {
    /// Nothing to say.
    None,
    /// Success (`role="status"`).
    Done(String),
    /// A problem (`role="alert"`).
    Problem(Markup),
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · " (PRODUCT) }
            link rel="stylesheet" href=(assets::css());
            script src=(assets::js()) defer {}
        }
    }
}

/// A page of a signed-in user.
pub fn page(me: &Me, title: &str, notice: Notice, content: Markup) -> Markup {
    // (link, name, the paths it stands for); reports only for the roles they are not refused to
    let mut nav = vec![("/", "待办", "/"), ("/persons", "残疾人", "/persons")];
    if me.caller.helper().is_some() {
        nav = vec![("/my", "我的帮扶对象", "/my")];
    } else if !me.caller.is_narrow() {
        nav.push(("/reports/coverage", "报表", "/reports/"));
    }
    let here = |prefix: &str| {
        if prefix == "/" {
            me.path == "/"
        } else {
            me.path.starts_with(prefix)
        }
    };
    let top = html! {
        header.top {
            a.brand href="/" { (PRODUCT) }
            span.who { (me.caller.username) span.role { "（" (me.caller.role.zh()) "）" } }
            // a helper is told nothing by the service (it has no desk): no bell
            @if me.caller.helper().is_none() {
                a.bell href="/notifications" aria-current=[(me.path == "/notifications").then_some("page")] {
                    "通知"
                    @if me.unread > 0 {
                        " " span.count { (me.unread) } span.visually-hidden { "条未读" }
                    }
                }
            }
            form.signout method="post" action="/logout" {
                input type="hidden" name="csrf" value=(me.csrf);
                button.link type="submit" { "退出" }
            }
        }
        nav.main-nav aria-label="主导航" {
            ul {
                @for (href, name, prefix) in nav {
                    li { a href=(href) aria-current=[here(prefix).then_some("page")] { (name) } }
                }
            }
        }
    };
    shell(title, notice, top, content)
}

/// A page without a signed-in user: sign-in and refusals.
pub fn bare_page(title: &str, notice: Notice, content: Markup) -> Markup {
    shell(
        title,
        notice,
        html! { header.top { a.brand href="/" { (PRODUCT) } } },
        content,
    )
}

/// The document around every page: `top` (the header, and the navigation when signed in),
/// then the main part with its heading and notice.
fn shell(title: &str, notice: Notice, top: Markup, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            (head(title))
            body {
                a.skip href="#main" { "跳到主要内容" }
                (top)
                main #main tabindex="-1" {
                    h1 { (title) }
                    (notice_markup(notice))
                    (content)
                }
            }
        }
    }
}

/// A refusal's page: a title, a sentence and the way back.
pub fn bare(title: &str, text: &str) -> Markup {
    bare_page(
        title,
        Notice::None,
        html! {
            p { (text) }
            p { a href="/" { "返回待办" } }
        },
    )
}

fn notice_markup(notice: Notice) -> Markup {
    match notice {
        Notice::None => PreEscaped(String::new()),
        Notice::Done(text) => html! { div.notice.ok role="status" { (text) } },
        Notice::Problem(m) => html! { div.notice.problem role="alert" tabindex="-1" { (m) } },
    }
}
