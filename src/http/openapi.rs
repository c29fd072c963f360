//! The OpenAPI 3 document, generated from the handlers' annotations.

use crate::service::needs as svc_needs;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::api::{
    self, attachments, audit, auth, health, helpers, import, inbox, needs, notifications,
    org_units, organizations, persons, reports, resources, roster, sla, users, volunteers,
    webhooks,
};
use super::error::{FieldError, Problem};

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The refusals every operation shares because they come from the shared extractors rather
/// than from the handler: 401 from the bearer-token check, 404 from an `{id}` that is not a
/// UUID or not in scope, 422 from the strict query-string and JSON parsing, 400/408/413/415
/// from reading a JSON body, 503 (with `Retry-After`) when the database cannot be reached. Each
/// is added where the annotation did not already say it, and every 4xx/5xx answer is declared
/// as `application/problem+json` (which is what [`AppError`](super::error::AppError) sends).
struct SharedRefusals;

const PROBLEM_JSON: &str = "application/problem+json";

impl Modify for SharedRefusals {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for (path, item) in doc.paths.paths.iter_mut() {
            let api = path.starts_with("/api/v1/") && path != "/api/v1/openapi.json";
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                shared_refusals(op, api);
            }
        }
    }
}

fn shared_refusals(op: &mut utoipa::openapi::path::Operation, api: bool) {
    use utoipa::openapi::path::ParameterIn;
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let params = op.parameters.as_deref().unwrap_or_default();
    let has_path = params.iter().any(|p| p.parameter_in == ParameterIn::Path);
    let has_query = params.iter().any(|p| p.parameter_in == ParameterIn::Query);
    let json_body = op
        .request_body
        .as_ref()
        .is_some_and(|b| b.content.contains_key("application/json"));
    let mut add = |status: u16, description: &str| {
        op.responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| problem_response(description).into());
    };
    if secured {
        add(401, "no valid access token (missing, malformed, expired, or the user is disabled or changed the password)");
    }
    if has_path {
        add(
            404,
            "absent, or outside the caller's scope (an id that is not a UUID included)",
        );
    }
    if json_body {
        add(400, "the body is not JSON (`malformed_body`)");
        add(408, "the body did not arrive in time (`request_timeout`)");
        add(413, "the body exceeds 64 KiB (`payload_too_large`)");
        add(
            415,
            "the body is declared as something other than JSON (`unsupported_media_type`)",
        );
    }
    if has_query || json_body {
        add(422, "a parameter or field is invalid, unknown or missing (`validation_failed`, with `errors`)");
    }
    if api {
        add(503, "the database is unavailable right now (`unavailable`); retry after `Retry-After` seconds");
    }
    for (status, response) in op.responses.responses.iter_mut() {
        let utoipa::openapi::RefOr::T(response) = response else {
            continue;
        };
        if !status.starts_with('4') && !status.starts_with('5') {
            continue;
        }
        if let Some(content) = response.content.shift_remove("application/json") {
            response.content.insert(PROBLEM_JSON.to_string(), content);
        }
        if response.content.is_empty() {
            response.content.insert(
                PROBLEM_JSON.to_string(),
                utoipa::openapi::ContentBuilder::new()
                    .schema(Some(utoipa::openapi::Ref::from_schema_name("Problem")))
                    .build(),
            );
        }
        if status == "429" || status == "503" {
            response
                .headers
                .entry("Retry-After".to_string())
                .or_insert_with(|| {
                    utoipa::openapi::HeaderBuilder::new()
                        .schema(
                            utoipa::openapi::ObjectBuilder::new()
                                .schema_type(utoipa::openapi::Type::Integer),
                        )
                        .description(Some("seconds to wait before retrying"))
                        .build()
                });
        }
    }
}

fn problem_response(description: &str) -> utoipa::openapi::Response {
    utoipa::openapi::ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            utoipa::openapi::ContentBuilder::new()
                .schema(Some(utoipa::openapi::Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

/// The whole API.
#[derive(OpenApi)]
#[openapi(
    info(title = "zhucan 助残", description = "Disability-assistance case management: the org tree (1+16+N), 三帮一 contact groups, the dual closed loop (双闭环)."),
    modifiers(&Security, &SharedRefusals),
    paths(
        health::healthz, health::readyz, health::metrics, health::docs, health::openapi_json,
        auth::login, auth::refresh, auth::logout, auth::me, auth::change_password,
        users::list, users::create, users::get, users::patch,
        org_units::list, org_units::create, org_units::get,
        organizations::list, organizations::create, organizations::get, organizations::record,
        persons::list, persons::create, persons::get, persons::patch,
        persons::get_group, persons::put_group, persons::list_visits, persons::create_visit,
        helpers::list, helpers::create, helpers::get, helpers::patch, helpers::account,
        import::import_persons, import::persons_template, import::import_helpers, import::helpers_template,
        needs::list, needs::create, needs::get, needs::events, needs::act, inbox::get,
        notifications::list, notifications::read, notifications::read_all,
        resources::allocate, resources::need_allocations, resources::list_campaigns, resources::create_campaign,
        resources::get_campaign, resources::ledger, resources::list_donations, resources::create_donation, resources::reverse,
        volunteers::list_teams, volunteers::create_team, volunteers::get_team, volunteers::list_records, volunteers::create_record,
        sla::get, sla::put,
        roster::list, roster::create, roster::current, roster::patch, roster::delete,
        reports::coverage, reports::needs, reports::sla, reports::funds, reports::volunteers, audit::list,
        webhooks::list, webhooks::create, webhooks::get, webhooks::delete, webhooks::deliveries,
        attachments::upload_to_need, attachments::of_need, attachments::upload_to_person, attachments::of_person,
        attachments::download,
    ),
    components(schemas(Problem, FieldError, api::Paged<crate::service::persons::PersonOut>,
        svc_needs::RegisterIn, svc_needs::ReferIn, svc_needs::NoteIn, svc_needs::ReasonIn, svc_needs::AssignIn, svc_needs::ResolveIn, svc_needs::VerifyIn, svc_needs::CommentIn,
        crate::service::webhooks::WebhookEvent))
)]
pub struct ApiDoc;

/// The document as served at `/api/v1/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
