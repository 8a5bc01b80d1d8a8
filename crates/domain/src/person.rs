//! Registering a person: with identity, or anonymously (DPR 309/90 art. 120).

use crate::codes::{Education, LivingSituation, Sex, UserClass, WorkHistory};
use crate::fiscal_code::{self, FiscalCodeError};
use crate::validation::{Checker, Invalid};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// What a registration form or API call sends, before validation.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct PersonForm {
    /// Anonymous registration: identity data, if given, only derive the code and are never stored.
    #[serde(deserialize_with = "crate::validation::de_bool")]
    pub anonymous: bool,
    pub surname: String,
    pub name: String,
    pub fiscal_code: String,
    pub birth_date: String,
    pub sex: String,
    pub phone: String,
    pub email: String,
    pub address: String,
    pub citizenship: String,
    pub education: String,
    pub work_history: String,
    pub living_situation: String,
    pub user_class: String,
}

/// The data the pseudonymous code is computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeBasis {
    pub surname: String,
    pub name: String,
    pub birth_date: NaiveDate,
    pub sex: Sex,
}

/// Identity, stored apart from everything else and only for non-anonymous persons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    pub surname: String,
    pub name: String,
    pub fiscal_code: Option<String>,
    pub birth_date: NaiveDate,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
}

/// The pseudonymous part of a person: what analysts and reports may use.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Profile {
    pub birth_year: Option<i32>,
    pub sex: Option<Sex>,
    pub citizenship: Option<String>,
    pub education: Option<Education>,
    pub work_history: Option<WorkHistory>,
    pub living_situation: Option<LivingSituation>,
    pub user_class: Option<UserClass>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPerson {
    pub anonymous: bool,
    /// `None` only for an anonymous person who gave nothing: the code is then random.
    pub code_basis: Option<CodeBasis>,
    pub identity: Option<Identity>,
    pub profile: Profile,
}

/// The profile fields every form shares (birth year and sex come from the code basis).
fn parse_profile(
    c: &mut Checker,
    citizenship: &str,
    education: &str,
    work_history: &str,
    living: &str,
    class: &str,
) -> Profile {
    Profile {
        birth_year: None,
        sex: None,
        citizenship: c.optional_text("citizenship", Some(citizenship), 60),
        education: c.optional_code("education", Some(education), Education::parse),
        work_history: c.optional_code("work_history", Some(work_history), WorkHistory::parse),
        living_situation: c.optional_code("living_situation", Some(living), LivingSituation::parse),
        user_class: c.optional_code("user_class", Some(class), UserClass::parse),
    }
}

/// Phone, email and address, each optional.
fn parse_contacts(c: &mut Checker, phone: &str, email: &str, address: &str) -> Contacts {
    let phone = c.optional_text("phone", Some(phone), 40);
    let email = c.optional_text("email", Some(email), 120);
    if email.as_deref().is_some_and(|e| !e.contains('@') || e.starts_with('@') || e.ends_with('@')) {
        c.fail("email", "err-email");
    }
    let address = c.optional_text("address", Some(address), 200);
    Contacts { phone, email, address }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Contacts {
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
}

/// Corrections after registration: contacts and profile. Names, birth date and sex are not
/// editable here because they define the pseudonymous code.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct PersonUpdateForm {
    pub phone: String,
    pub email: String,
    pub address: String,
    pub citizenship: String,
    pub education: String,
    pub work_history: String,
    pub living_situation: String,
    pub user_class: String,
}

/// Rectification (GDPR art. 16): the identity fields that define the pseudonymous code, and
/// why they change. The code is derived again from them; the old one stays an alias.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct IdentityCorrectionForm {
    pub surname: String,
    pub name: String,
    pub fiscal_code: String,
    pub birth_date: String,
    pub sex: String,
    /// Why (e.g. "cognome trascritto male; documento d'identità visto il 12/03").
    pub reason: String,
}

/// A checked rectification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityCorrection {
    pub basis: CodeBasis,
    pub fiscal_code: Option<String>,
    pub reason: String,
}

impl IdentityCorrectionForm {
    /// The same rules as at registration (names, birth date, sex, fiscal code consistent with
    /// them), and a reason.
    pub fn validate(&self) -> Result<IdentityCorrection, Invalid> {
        let as_registered = PersonForm {
            anonymous: false,
            surname: self.surname.clone(),
            name: self.name.clone(),
            fiscal_code: self.fiscal_code.clone(),
            birth_date: self.birth_date.clone(),
            sex: self.sex.clone(),
            ..Default::default()
        };
        let mut c = Checker::new();
        let reason = c.required_text("reason", &self.reason, 500);
        let reason = c.finish(|| reason);
        match (as_registered.validate(), reason) {
            (Ok(p), Ok(reason)) => match (p.code_basis, p.identity) {
                (Some(basis), Some(identity)) => {
                    Ok(IdentityCorrection { basis, fiscal_code: identity.fiscal_code, reason })
                }
                _ => Err(Invalid::one("surname", "err-required")),
            },
            (Err(Invalid(mut a)), Err(Invalid(b))) => {
                a.extend(b);
                Err(Invalid(a))
            }
            (Err(e), _) | (_, Err(e)) => Err(e),
        }
    }
}

/// A partial update (HTTP `PATCH`): only the fields sent change; a field sent empty is cleared.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonPatch {
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    pub citizenship: Option<String>,
    pub education: Option<String>,
    pub work_history: Option<String>,
    pub living_situation: Option<String>,
    pub user_class: Option<String>,
}

impl PersonPatch {
    /// The whole form: the fields sent, and the current values for the others.
    pub fn over(&self, current: &PersonUpdateForm) -> PersonUpdateForm {
        let pick = |sent: &Option<String>, now: &String| sent.clone().unwrap_or_else(|| now.clone());
        PersonUpdateForm {
            phone: pick(&self.phone, &current.phone),
            email: pick(&self.email, &current.email),
            address: pick(&self.address, &current.address),
            citizenship: pick(&self.citizenship, &current.citizenship),
            education: pick(&self.education, &current.education),
            work_history: pick(&self.work_history, &current.work_history),
            living_situation: pick(&self.living_situation, &current.living_situation),
            user_class: pick(&self.user_class, &current.user_class),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonUpdate {
    pub contacts: Contacts,
    pub profile: Profile,
}

impl PersonUpdateForm {
    /// `anonymous`: no contacts may be stored for a person registered anonymously.
    pub fn validate(&self, anonymous: bool) -> Result<PersonUpdate, Invalid> {
        let mut c = Checker::new();
        let contacts = parse_contacts(&mut c, &self.phone, &self.email, &self.address);
        if anonymous {
            for (field, given) in
                [("phone", &contacts.phone), ("email", &contacts.email), ("address", &contacts.address)]
            {
                if given.is_some() {
                    c.fail(field, "err-anonymous-no-contacts");
                }
            }
        }
        let profile = parse_profile(
            &mut c,
            &self.citizenship,
            &self.education,
            &self.work_history,
            &self.living_situation,
            &self.user_class,
        );
        c.finish(|| PersonUpdate { contacts, profile })
    }
}

impl PersonForm {
    pub fn validate(&self) -> Result<NewPerson, Invalid> {
        let mut c = Checker::new();
        let profile_tail = |c: &mut Checker| {
            parse_profile(
                c,
                &self.citizenship,
                &self.education,
                &self.work_history,
                &self.living_situation,
                &self.user_class,
            )
        };
        if self.anonymous {
            let given = [&self.surname, &self.name, &self.birth_date, &self.sex]
                .iter()
                .filter(|v| !v.trim().is_empty())
                .count();
            if !self.fiscal_code.trim().is_empty() {
                c.fail("fiscal_code", "err-anonymous-no-fiscal-code");
            }
            let basis = if given == 0 {
                None
            } else {
                if given < 4 {
                    for (field, v) in [
                        ("surname", &self.surname),
                        ("name", &self.name),
                        ("birth_date", &self.birth_date),
                        ("sex", &self.sex),
                    ] {
                        if v.trim().is_empty() {
                            c.fail(field, "err-anonymous-code-needs-all");
                        }
                    }
                }
                self.basis(&mut c)
            };
            let mut profile = profile_tail(&mut c);
            if let Some(b) = &basis {
                profile.birth_year = Some(b.birth_date.year());
                profile.sex = Some(b.sex);
            }
            return c.finish(|| NewPerson { anonymous: true, code_basis: basis, identity: None, profile });
        }
        let basis = self.basis(&mut c);
        let fiscal = fiscal_code::normalise(&self.fiscal_code);
        let fiscal = if fiscal.is_empty() {
            None
        } else {
            match fiscal_code::validate(&fiscal) {
                Err(FiscalCodeError::Format) => c.fail("fiscal_code", "err-fiscal-code-format"),
                Err(FiscalCodeError::Checksum) => c.fail("fiscal_code", "err-fiscal-code-checksum"),
                Ok(()) => {
                    if let Some(b) = &basis {
                        if !fiscal_code::matches(&fiscal, b.birth_date, b.sex) {
                            c.fail("fiscal_code", "err-fiscal-code-mismatch");
                        }
                    }
                }
            }
            Some(fiscal)
        };
        let Contacts { phone, email, address } = parse_contacts(&mut c, &self.phone, &self.email, &self.address);
        let mut profile = profile_tail(&mut c);
        c.finish(|| {
            let b = basis.expect("no field errors implies a complete basis");
            profile.birth_year = Some(b.birth_date.year());
            profile.sex = Some(b.sex);
            let identity = Identity {
                surname: b.surname.clone(),
                name: b.name.clone(),
                fiscal_code: fiscal,
                birth_date: b.birth_date,
                phone,
                email,
                address,
            };
            NewPerson { anonymous: false, code_basis: Some(b), identity: Some(identity), profile }
        })
    }

    fn basis(&self, c: &mut Checker) -> Option<CodeBasis> {
        let surname = c.required_text("surname", &self.surname, 80);
        let name = c.required_text("name", &self.name, 80);
        if !surname.is_empty() && crate::pseudonym::normalise_name(&surname).is_empty() {
            c.fail("surname", "err-name-letters");
        }
        if !name.is_empty() && crate::pseudonym::normalise_name(&name).is_empty() {
            c.fail("name", "err-name-letters");
        }
        let birth_date = c.required_date("birth_date", &self.birth_date);
        if birth_date.is_some_and(|d| d > chrono::Local::now().date_naive()) {
            c.fail("birth_date", "err-date-in-future");
        }
        let sex = c.required_code("sex", &self.sex, Sex::parse);
        Some(CodeBasis { surname, name, birth_date: birth_date?, sex: sex? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> PersonForm {
        PersonForm {
            surname: "Rossi".into(),
            name: "Mario".into(),
            fiscal_code: "rssmra85t10a562s".into(),
            birth_date: "1985-12-10".into(),
            sex: "M".into(),
            education: "media_inferiore".into(),
            ..Default::default()
        }
    }

    #[test]
    fn identified_person_is_valid() {
        let p = form().validate().unwrap();
        let id = p.identity.unwrap();
        assert_eq!(id.fiscal_code.as_deref(), Some("RSSMRA85T10A562S"));
        assert_eq!(p.profile.birth_year, Some(1985));
        assert_eq!(p.profile.education, Some(Education::MediaInferiore));
    }

    #[test]
    fn fiscal_code_errors_are_named() {
        let mut f = form();
        f.fiscal_code = "RSSMRA85T10A562T".into();
        assert_eq!(f.validate().unwrap_err().0[0].key, "err-fiscal-code-checksum");
        f.fiscal_code = "RSSMRA85T10A562S".into();
        f.birth_date = "1985-12-11".into();
        assert_eq!(f.validate().unwrap_err().0[0].key, "err-fiscal-code-mismatch");
        f.fiscal_code = "XYZ".into();
        assert_eq!(f.validate().unwrap_err().0[0].key, "err-fiscal-code-format");
    }

    #[test]
    fn identified_person_needs_the_basics() {
        let err = PersonForm::default().validate().unwrap_err();
        for f in ["surname", "name", "birth_date", "sex"] {
            assert!(err.has(f), "{f} should be required");
        }
    }

    #[test]
    fn anonymous_person_keeps_no_identity() {
        let mut f = form();
        f.anonymous = true;
        f.fiscal_code.clear();
        f.phone = "333".into();
        let p = f.validate().unwrap();
        assert!(p.identity.is_none());
        assert!(p.code_basis.is_some());
        let blank = PersonForm { anonymous: true, ..Default::default() }.validate().unwrap();
        assert!(blank.code_basis.is_none());
    }

    #[test]
    fn anonymous_person_gives_all_four_or_none() {
        let f = PersonForm { anonymous: true, surname: "Rossi".into(), ..Default::default() };
        let err = f.validate().unwrap_err();
        assert!(err.has("name") && err.has("birth_date") && err.has("sex"));
        let f = PersonForm { anonymous: true, fiscal_code: "RSSMRA85T10A562S".into(), ..Default::default() };
        assert_eq!(f.validate().unwrap_err().0[0].key, "err-anonymous-no-fiscal-code");
    }

    #[test]
    fn updates_validate_contacts_and_profile() {
        let u = PersonUpdateForm { phone: "333".into(), education: "laurea".into(), ..Default::default() }
            .validate(false)
            .unwrap();
        assert_eq!(u.contacts.phone.as_deref(), Some("333"));
        assert_eq!(u.profile.education, Some(Education::Laurea));
        let err = PersonUpdateForm { email: "x@".into(), user_class: "boh".into(), ..Default::default() }
            .validate(false)
            .unwrap_err();
        assert!(err.has("email") && err.has("user_class"));
        let err = PersonUpdateForm { phone: "333".into(), ..Default::default() }.validate(true).unwrap_err();
        assert_eq!(err.0[0].key, "err-anonymous-no-contacts");
    }

    #[test]
    fn unknown_codes_are_rejected() {
        let mut f = form();
        f.education = "dottorato".into();
        let err = f.validate().unwrap_err();
        assert_eq!(err.0[0].field, "education");
        assert_eq!(err.0[0].key, "err-unknown-code");
    }
}
