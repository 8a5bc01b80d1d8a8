//! The OpenAPI document, generated from the handlers' annotations and the types' schemas.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Percorsi API", description = "Shared information system for social reintegration pathways. Authenticate with `Authorization: Bearer pct_…` (see `percorsi token create`)."),
    paths(
        super::handlers::me,
        super::handlers::list_persons,
        super::handlers::register_person,
        super::handlers::take_in_charge,
        super::handlers::pathway,
        super::handlers::update_person,
        super::handlers::rectify_person,
        super::handlers::export_person,
        super::handlers::erase_person,
        super::handlers::restricted_persons,
        super::documents::list,
        super::documents::upload,
        super::documents::download,
        super::handlers::restrict_person,
        super::handlers::lift_restriction,
        super::handlers::open_episode,
        super::handlers::update_episode,
        super::handlers::close_episode,
        super::handlers::add_team_member,
        super::handlers::remove_team_member,
        super::handlers::record_consent,
        super::handlers::revoke_consent,
        super::handlers::list_organisations,
        super::handlers::create_organisation,
        super::handlers::update_organisation,
        super::handlers::list_users,
        super::handlers::create_user,
        super::handlers::grant_role,
        super::handlers::set_user_active,
        super::handlers::set_sign_in_rules,
        super::handlers::link_sso,
        super::handlers::reset_second_factor,
        super::handlers::set_membership_active,
        super::handlers::audit_trail,
        super::handlers::break_glass,
        super::handlers::glass_reviews,
        super::handlers::review_glass,
        super::handlers::verify_audit,
        super::handlers::audit_head,
        super::protocol::list_programmes,
        super::protocol::create_programme,
        super::protocol::budget_by_source,
        super::protocol::programme,
        super::protocol::change_rule,
        super::protocol::participation,
        super::protocol::create_intervention,
        super::protocol::due,
        super::protocol::intervention,
        super::protocol::transition,
        super::protocol::conclude,
        super::protocol::payment,
        super::protocol::monitoring,
        super::protocol::attendance,
        super::protocol::form,
        super::protocol::fill_form,
        super::protocol::tutored,
        super::protocol::tutor_detail,
        super::projects::list,
        super::projects::create,
        super::projects::show,
        super::projects::revise,
        super::projects::review,
        super::projects::progress,
        super::referrals::refer,
        super::referrals::list,
        super::referrals::decide,
        super::referrals::notifications,
        super::pathway_steps::person_notes,
        super::pathway_steps::add_note,
        super::pathway_steps::search_notes,
        super::pathway_steps::relapse,
        super::pathway_steps::propose,
        super::pathway_steps::transfers,
        super::pathway_steps::decide,
        super::pathway_steps::withdraw,
        super::pathway_steps::record_access,
        super::pathway_steps::accesses,
        super::pathway_steps::add_access,
        super::deliveries::mail_preferences,
        super::deliveries::set_mail_preferences,
        super::deliveries::webhooks,
        super::deliveries::add_webhook,
        super::deliveries::webhook,
        super::deliveries::deactivate_webhook,
        super::opportunities::list,
        super::opportunities::create,
        super::opportunities::import,
        super::opportunities::place,
        super::opportunities::end,
        super::opportunities::of_person,
        super::network::assess,
        super::network::assessments,
        super::network::groups,
        super::network::create_group,
        super::network::meeting,
        super::network::dashboard,
        super::reports::report,
        super::reports::extract,
        super::reports::compare,
        super::reports::import,
    ),
    modifiers(&Bearer)
)]
pub struct ApiDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
