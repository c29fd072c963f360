//! Every route the app serves, in one table that the OpenAPI test checks against the document.

use actix_web::web;

use super::api::{audit, auth, health, helpers, org_units, organizations, persons, reports, users};

macro_rules! routes {
    ($( $method:ident $path:literal => $handler:path ),* $(,)?) => {
        /// (method, path) of every route served.
        pub const ROUTE_TABLE: &[(&str, &str)] = &[ $( (stringify!($method), $path) ),* ];

        /// Registers every route.
        pub fn configure(cfg: &mut web::ServiceConfig) {
            $( cfg.route($path, web::$method().to($handler)); )*
        }
    };
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

    get "/api/v1/reports/coverage" => reports::coverage,
    get "/api/v1/audit-log" => audit::list,
}
