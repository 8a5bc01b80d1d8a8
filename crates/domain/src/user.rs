//! User accounts and their roles per organisation.

use crate::codes::Role;
use crate::validation::{Checker, FieldError, Invalid};
use serde::{Deserialize, Serialize};

/// ASVS V2.1.1 and V2.1.2: at least 12 characters, up to 128, any characters, no composition rules.
pub const MIN_PASSWORD_LEN: usize = 12;
pub const MAX_PASSWORD_LEN: usize = 128;

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct UserForm {
    pub username: String,
    pub display_name: String,
    pub password: String,
    /// First role, in an organisation; more can be granted later.
    pub organisation_id: String,
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub password: String,
    pub organisation_id: i64,
    pub role: Role,
}

/// Usernames are lower-case letters, digits, dot, dash and underscore, 3–40 characters.
pub fn check_username(c: &mut Checker, raw: &str) -> String {
    let u = raw.trim().to_lowercase();
    if u.is_empty() {
        c.fail("username", "err-required");
    } else if !(3..=40).contains(&u.len())
        || !u.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
    {
        c.fail("username", "err-username");
    }
    u
}

pub fn check_password(c: &mut Checker, raw: &str) {
    let n = raw.chars().count();
    if n < MIN_PASSWORD_LEN {
        c.push(FieldError::new("password", "err-password-short").arg("min", MIN_PASSWORD_LEN.to_string()));
    } else if n > MAX_PASSWORD_LEN {
        c.push(FieldError::new("password", "err-password-long").arg("max", MAX_PASSWORD_LEN.to_string()));
    }
}

impl UserForm {
    pub fn validate(&self) -> Result<NewUser, Invalid> {
        let mut c = Checker::new();
        let username = check_username(&mut c, &self.username);
        let display_name = c.required_text("display_name", &self.display_name, 120);
        check_password(&mut c, &self.password);
        let org = crate::episode::parse_id(&mut c, "organisation_id", &self.organisation_id);
        let role = c.required_code("role", &self.role, Role::parse);
        c.finish(|| NewUser {
            username,
            display_name,
            password: self.password.clone(),
            organisation_id: org.unwrap_or_default(),
            role: role.unwrap_or(Role::Operatore),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_rules() {
        let err =
            UserForm { username: "A b".into(), password: "short".into(), role: "capo".into(), ..Default::default() }
                .validate()
                .unwrap_err();
        for f in ["username", "display_name", "password", "organisation_id", "role"] {
            assert!(err.has(f), "{f}");
        }
        let ok = UserForm {
            username: "M.Rossi".into(),
            display_name: "Mario Rossi".into(),
            password: "correct horse".into(),
            organisation_id: "1".into(),
            role: "case_manager".into(),
        }
        .validate()
        .unwrap();
        assert_eq!(ok.username, "m.rossi");
        assert_eq!(ok.role, Role::CaseManager);
    }
}
