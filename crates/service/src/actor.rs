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
    /// Break-the-glass openings in force for this user in this organisation (shown in the
    /// header on every page; they widen the visibility rule until they expire).
    pub glass: Vec<GlassGrant>,
    /// When the user last proved who they are in this session (sign-in or re-authentication);
    /// `None` for an API token, whose secret is presented with every request.
    #[serde(skip)]
    pub authenticated_at: Option<String>,
}

/// One emergency access in force, as the header shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GlassGrant {
    pub id: i64,
    pub person_id: i64,
    pub person_code: String,
    pub expires_at: String,
}

impl Actor {
    pub fn scope(&self) -> Scope {
        Scope {
            organisation_id: self.organisation_id,
            user_id: self.user_id,
            today: crate::today(),
            glass: self.glass.iter().map(|g| g.person_id).collect(),
            identity: crate::policy::allows(self.role, crate::policy::Permission::ViewIdentity),
        }
    }
}
