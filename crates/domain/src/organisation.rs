//! Organisations of the network.

use crate::codes::OrganisationKind;
use crate::validation::{Checker, Invalid};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct OrganisationForm {
    pub name: String,
    pub kind: String,
    /// Parent organisation id (e.g. an AUSL zone under its health authority); blank for none.
    pub parent_id: String,
    /// Zone or district, e.g. "1-MS".
    pub territory: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrganisation {
    pub name: String,
    pub kind: OrganisationKind,
    pub parent_id: Option<i64>,
    pub territory: Option<String>,
}

impl OrganisationForm {
    pub fn validate(&self) -> Result<NewOrganisation, Invalid> {
        let mut c = Checker::new();
        let name = c.required_text("name", &self.name, 120);
        let kind = c.required_code("kind", &self.kind, OrganisationKind::parse);
        let parent_id = match self.parent_id.trim() {
            "" => None,
            v => match v.parse::<i64>() {
                Ok(id) if id > 0 => Some(id),
                _ => {
                    c.fail("parent_id", "err-unknown-choice");
                    None
                }
            },
        };
        let territory = c.optional_text("territory", Some(&self.territory), 60);
        c.finish(|| NewOrganisation {
            name,
            kind: kind.unwrap_or(OrganisationKind::Associazione),
            parent_id,
            territory,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_kind_is_named() {
        let err = OrganisationForm { name: "X".into(), kind: "ospedale".into(), ..Default::default() }
            .validate()
            .unwrap_err();
        assert_eq!((err.0[0].field, err.0[0].key), ("kind", "err-unknown-code"));
    }

    #[test]
    fn valid_organisation() {
        let o = OrganisationForm {
            name: " SerD 1-MS ".into(),
            kind: "ausl_serd".into(),
            parent_id: "2".into(),
            territory: "1-MS".into(),
        }
        .validate()
        .unwrap();
        assert_eq!(o.name, "SerD 1-MS");
        assert_eq!(o.parent_id, Some(2));
    }
}
