//! The OpenAPI 3 document, generated from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::api::{
    self, audit, auth, health, helpers, import, needs, org_units, organizations, persons, reports,
    resources, roster, sla, users, volunteers,
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

/// The whole API.
#[derive(OpenApi)]
#[openapi(
    info(title = "zhucan 助残", description = "Disability-assistance case management: the org tree (1+16+N), 三帮一 contact groups, the dual closed loop (双闭环)."),
    modifiers(&Security),
    paths(
        health::healthz, health::readyz, health::metrics, health::docs, health::openapi_json,
        auth::login, auth::refresh, auth::logout, auth::me, auth::change_password,
        users::list, users::create, users::get, users::patch,
        org_units::list, org_units::create, org_units::get,
        organizations::list, organizations::create, organizations::get, organizations::record,
        persons::list, persons::create, persons::get, persons::patch,
        persons::get_group, persons::put_group, persons::list_visits, persons::create_visit,
        helpers::list, helpers::create, helpers::get, helpers::patch,
        import::import_persons, import::persons_template, import::import_helpers, import::helpers_template,
        needs::list, needs::create, needs::get, needs::events, needs::act,
        resources::allocate, resources::need_allocations, resources::list_campaigns, resources::create_campaign,
        resources::get_campaign, resources::ledger, resources::list_donations, resources::create_donation, resources::reverse,
        volunteers::list_teams, volunteers::create_team, volunteers::get_team, volunteers::list_records, volunteers::create_record,
        sla::get, sla::put,
        roster::list, roster::create, roster::current, roster::patch, roster::delete,
        reports::coverage, reports::needs, reports::sla, reports::funds, reports::volunteers, audit::list,
    ),
    components(schemas(Problem, FieldError, api::Paged<persons::PersonOut>,
        needs::RegisterIn, needs::ReferIn, needs::NoteIn, needs::ReasonIn, needs::AssignIn, needs::ResolveIn, needs::VerifyIn, needs::CommentIn))
)]
pub struct ApiDoc;

/// The document as served at `/api/v1/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
