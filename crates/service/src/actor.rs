use percorsi_domain::codes::Role;
use percorsi_store::Scope;
use serde::Serialize;

/// An authenticated user acting in one organisation with one role.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Actor {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub membership_id: i64,
    pub organisation_id: i64,
    pub organisation_name: String,
    pub organisation_kind: String,
    pub role: Role,
}

impl Actor {
    pub fn scope(&self) -> Scope {
        Scope { organisation_id: self.organisation_id, user_id: self.user_id, today: crate::today() }
    }
}
