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

/// The weakest strength accepted (zxcvbn's score, 0–4): 3 means an offline attacker needs more
/// than 10⁸ guesses. Common and breached passwords, keyboard walks, repeats and the user's own
/// name score below it, whatever their length (ASVS V2.1.7).
pub const MIN_PASSWORD_STRENGTH: u8 = 3;

/// How guessable a password is, as shown while typing (ASVS V2.1.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Strength {
    /// 0 (guessed at once) to 4 (beyond any practical attack).
    pub score: u8,
    /// The password is, or closely resembles, one in the lists of breached and common passwords
    /// shipped with the binary.
    pub common: bool,
}

impl Strength {
    pub fn accepted(&self) -> bool {
        self.score >= MIN_PASSWORD_STRENGTH
    }
}

/// Estimates a password's strength against the dictionaries compiled into the binary (30,000
/// passwords from public breaches, common names and words) and against `user_inputs` (the
/// username and display name, which an attacker tries first).
pub fn password_strength(password: &str, user_inputs: &[&str]) -> Strength {
    use zxcvbn::feedback::Warning;
    if password.is_empty() {
        return Strength { score: 0, common: false };
    }
    let e = zxcvbn::zxcvbn(password, user_inputs);
    let common = matches!(
        e.feedback().and_then(|f| f.warning()),
        Some(
            Warning::ThisIsATop10Password
                | Warning::ThisIsATop100Password
                | Warning::ThisIsACommonPassword
                | Warning::ThisIsSimilarToACommonlyUsedPassword
        )
    );
    Strength { score: u8::from(e.score()), common }
}

/// The password rules of ASVS V2.1: length 12–128 in characters, any characters, no composition
/// rules, and not guessable (see [`MIN_PASSWORD_STRENGTH`]).
pub fn check_password(c: &mut Checker, raw: &str, user_inputs: &[&str]) {
    let n = raw.chars().count();
    if n < MIN_PASSWORD_LEN {
        c.push(FieldError::new("password", "err-password-short").arg("min", MIN_PASSWORD_LEN.to_string()));
    } else if n > MAX_PASSWORD_LEN {
        c.push(FieldError::new("password", "err-password-long").arg("max", MAX_PASSWORD_LEN.to_string()));
    } else {
        let s = password_strength(raw, user_inputs);
        if !s.accepted() {
            c.fail("password", if s.common { "err-password-common" } else { "err-password-guessable" });
        }
    }
}

impl UserForm {
    pub fn validate(&self) -> Result<NewUser, Invalid> {
        let mut c = Checker::new();
        let username = check_username(&mut c, &self.username);
        let display_name = c.required_text("display_name", &self.display_name, 120);
        check_password(&mut c, &self.password, &[&self.username, &self.display_name]);
        let org = crate::episode::parse_id(&mut c, "organisation_id", &self.organisation_id);
        let role = c.required_code("role", &self.role, Role::grantable);
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

    fn password_errors(p: &str, inputs: &[&str]) -> Vec<String> {
        let mut c = Checker::new();
        check_password(&mut c, p, inputs);
        c.finish(|| ()).err().map(|e| e.0.iter().map(|f| f.key.to_string()).collect()).unwrap_or_default()
    }

    #[test]
    fn asvs_2_1_7_breached_and_common_passwords_are_refused_whatever_their_length() {
        for common in ["password1234", "Password123456", "iloveyou1234567", "football1234", "letmein12345"] {
            assert_eq!(password_errors(common, &[]), vec!["err-password-common"], "{common}");
        }
        for guessable in ["aaaaaaaaaaaa", "123456789012", "passwordpassword", "qwertyuiopas"] {
            assert!(!password_errors(guessable, &[]).is_empty(), "{guessable}");
        }
        // The user's own name is the first thing tried.
        assert!(password_errors("mario.rossi.1", &[]).is_empty());
        assert!(!password_errors("mario.rossi.1", &["mario.rossi"]).is_empty());
    }

    #[test]
    fn asvs_2_1_9_no_composition_rules_passphrases_of_any_characters_pass() {
        for fine in ["cavallo batteria graffetta", "una-password-lunga", "sbagliata-davvero", "perché no, è così 🙂"]
        {
            assert_eq!(password_errors(fine, &[]), Vec::<String>::new(), "{fine}");
        }
        assert_eq!(password_errors("corta", &[]), vec!["err-password-short"]);
        assert_eq!(password_errors(&"x".repeat(129), &[]), vec!["err-password-long"]);
        let s = password_strength("cavallo batteria graffetta", &[]);
        assert!(s.accepted() && !s.common && s.score == 4);
        assert_eq!(password_strength("", &[]).score, 0);
    }

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
