//! Every route the app serves, in one table that the OpenAPI test checks against the document.

use actix_web::web;

use super::api::{
    attachments, audit, auth, health, helpers, import, inbox, needs, notifications, org_units,
    organizations, persons, reports, resources, roster, sla, users, volunteers, webhooks,
};

macro_rules! routes {
    ($( $method:ident $path:literal => $handler:path ),* $(,)?) => {
        /// (method, path) of every route served.
        pub const ROUTE_TABLE: &[(&str, &str)] = &[ $( (stringify!($method), $path) ),* ];

        /// Registers every route (an `{id}` segment matches only a UUID, so that
        /// `PATCH /persons/import` is the 405 of `/persons/import`, not a lookup of person "import").
        pub fn configure(cfg: &mut web::ServiceConfig) {
            $( cfg.service(resource(stringify!($method), $path).to($handler)); )*
        }
    };
}

/// The pattern of the route a request was routed to, as written in the route table (`{id}`, never
/// an id or the UUID regex): kept on its resource, and read by the middleware after the handler
/// for the metrics' `route` label, so that a request is matched against the routes once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteLabel(pub &'static str);

/// The resource of one route: `path` with each `{id}` restricted to a UUID, guarded by `method`
/// (so that another method on the same path falls through to its own resource), labelled.
pub fn resource(method: &str, path: &'static str) -> actix_web::Resource {
    web::resource(uuid_ids(path))
        .guard(actix_web::guard::Method(method_of(method)))
        .app_data(RouteLabel(path))
}

/// The HTTP method a route table names in lower case (`get`, `post`, `put`, `patch`, `delete`).
fn method_of(name: &str) -> actix_web::http::Method {
    use actix_web::http::Method;
    match name {
        "post" => Method::POST,
        "put" => Method::PUT,
        "patch" => Method::PATCH,
        "delete" => Method::DELETE,
        "head" => Method::HEAD,
        _ => Method::GET,
    }
}

/// The regex an `{id}` segment must match: a hyphenated UUID.
const UUID_RE: &str = "[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}";

/// A route path with each `{id}` segment restricted to a UUID.
pub fn uuid_ids(path: &str) -> String {
    path.replace("{id}", &format!("{{id:{UUID_RE}}}"))
}

/// Whether a path segment is what an `{id}` route segment matches (a hyphenated UUID).
pub fn is_id_segment(segment: &str) -> bool {
    let groups: Vec<&str> = segment.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

routes! {
    get "/healthz" => health::healthz,
    get "/readyz" => health::readyz,
    get "/metrics" => health::metrics,
    get "/docs" => health::docs,
    get "/api/v1/openapi.json" => health::openapi_json,

    post "/api/v1/auth/login" => auth::login,
    post "/api/v1/auth/refresh" => auth::refresh,
    post "/api/v1/auth/logout" => auth::logout,
    get "/api/v1/me" => auth::me,
    post "/api/v1/me/password" => auth::change_password,
    get "/api/v1/me/notifications" => notifications::list,
    post "/api/v1/me/notifications/read-all" => notifications::read_all,
    post "/api/v1/me/notifications/{id}/read" => notifications::read,

    get "/api/v1/users" => users::list,
    post "/api/v1/users" => users::create,
    get "/api/v1/users/{id}" => users::get,
    patch "/api/v1/users/{id}" => users::patch,

    get "/api/v1/org-units" => org_units::list,
    post "/api/v1/org-units" => org_units::create,
    get "/api/v1/org-units/{id}" => org_units::get,

    get "/api/v1/organizations" => organizations::list,
    post "/api/v1/organizations" => organizations::create,
    get "/api/v1/organizations/{id}" => organizations::get,
    get "/api/v1/organizations/{id}/record" => organizations::record,

    post "/api/v1/persons/import" => import::import_persons,
    get "/api/v1/persons/import/template" => import::persons_template,
    post "/api/v1/helpers/import" => import::import_helpers,
    get "/api/v1/helpers/import/template" => import::helpers_template,
    get "/api/v1/persons" => persons::list,
    post "/api/v1/persons" => persons::create,
    get "/api/v1/persons/{id}" => persons::get,
    patch "/api/v1/persons/{id}" => persons::patch,
    get "/api/v1/persons/{id}/contact-group" => persons::get_group,
    put "/api/v1/persons/{id}/contact-group" => persons::put_group,
    get "/api/v1/persons/{id}/visits" => persons::list_visits,
    post "/api/v1/persons/{id}/visits" => persons::create_visit,

    get "/api/v1/helpers" => helpers::list,
    post "/api/v1/helpers" => helpers::create,
    get "/api/v1/helpers/{id}" => helpers::get,
    patch "/api/v1/helpers/{id}" => helpers::patch,
    post "/api/v1/helpers/{id}/account" => helpers::account,

    get "/api/v1/needs" => needs::list,
    post "/api/v1/needs" => needs::create,
    get "/api/v1/needs/{id}" => needs::get,
    get "/api/v1/needs/{id}/events" => needs::events,
    post "/api/v1/needs/{id}/actions/{action}" => needs::act,
    get "/api/v1/inbox" => inbox::get,

    post "/api/v1/needs/{id}/allocations" => resources::allocate,
    get "/api/v1/needs/{id}/allocations" => resources::need_allocations,

    post "/api/v1/needs/{id}/attachments" => attachments::upload_to_need,
    get "/api/v1/needs/{id}/attachments" => attachments::of_need,
    post "/api/v1/persons/{id}/attachments" => attachments::upload_to_person,
    get "/api/v1/persons/{id}/attachments" => attachments::of_person,
    get "/api/v1/attachments/{id}" => attachments::download,

    get "/api/v1/campaigns" => resources::list_campaigns,
    post "/api/v1/campaigns" => resources::create_campaign,
    get "/api/v1/campaigns/{id}" => resources::get_campaign,
    get "/api/v1/campaigns/{id}/ledger" => resources::ledger,
    get "/api/v1/donations" => resources::list_donations,
    post "/api/v1/donations" => resources::create_donation,
    post "/api/v1/ledger-entries/{id}/reversal" => resources::reverse,

    get "/api/v1/volunteer-teams" => volunteers::list_teams,
    post "/api/v1/volunteer-teams" => volunteers::create_team,
    get "/api/v1/volunteer-teams/{id}" => volunteers::get_team,
    get "/api/v1/service-records" => volunteers::list_records,
    post "/api/v1/service-records" => volunteers::create_record,

    get "/api/v1/sla-policies" => sla::get,
    put "/api/v1/sla-policies" => sla::put,

    get "/api/v1/duty-roster" => roster::list,
    post "/api/v1/duty-roster" => roster::create,
    get "/api/v1/duty-roster/current" => roster::current,
    patch "/api/v1/duty-roster/{id}" => roster::patch,
    delete "/api/v1/duty-roster/{id}" => roster::delete,

    get "/api/v1/reports/coverage" => reports::coverage,
    get "/api/v1/reports/needs" => reports::needs,
    get "/api/v1/reports/sla" => reports::sla,
    get "/api/v1/reports/funds" => reports::funds,
    get "/api/v1/reports/volunteers" => reports::volunteers,
    get "/api/v1/audit-log" => audit::list,

    get "/api/v1/webhooks" => webhooks::list,
    post "/api/v1/webhooks" => webhooks::create,
    get "/api/v1/webhooks/{id}" => webhooks::get,
    delete "/api/v1/webhooks/{id}" => webhooks::delete,
    get "/api/v1/webhooks/{id}/deliveries" => webhooks::deliveries,
}
