//! The demo network: enough organisations, users and people to try every role.
//! Loaded into an empty database by `serve --demo` or `percorsi demo`.

use crate::audit::record_system;
use crate::auth::hash_password;
use crate::{Result, Service};
use chrono::{Duration, NaiveDate};
use percorsi_domain::codes::{ConsentPurpose, EpisodeClosure, OrganisationKind, Role, Sex, Substance};
use percorsi_domain::consent::NewConsent;
use percorsi_domain::episode::{EpisodeClose, NewEpisode};
use percorsi_domain::fiscal_code;
use percorsi_domain::organisation::NewOrganisation;
use percorsi_domain::person::PersonForm;
use percorsi_domain::pseudonym;

/// Every demo account uses this password (printed at start and in the README).
pub const DEMO_PASSWORD: &str = "percorsi-demo";

/// (username, display name, organisation index, role) — `giulia` holds roles in two organisations.
pub const DEMO_USERS: &[(&str, &str, usize, Role)] = &[
    ("admin", "Amministratore di sistema", 0, Role::Amministratore),
    ("analista", "Elena Marchi (ARS)", 0, Role::Analista),
    ("auditor", "Roberto Sala (DPO)", 0, Role::Auditor),
    ("coordinatore", "Franca Villa", 2, Role::Coordinatore),
    ("anna", "Anna Bianchi", 2, Role::CaseManager),
    ("luca", "Luca Neri", 3, Role::CaseManager),
    ("sara", "Sara Gallo", 4, Role::CaseManager),
    ("paola", "Paola Conti", 6, Role::Operatore),
    ("marco", "Marco Ferri", 7, Role::Operatore),
    ("davide", "Davide Serra", 9, Role::TutorAziendale),
    ("giulia", "Giulia Riva", 3, Role::CaseManager),
    ("giulia", "Giulia Riva", 5, Role::Operatore),
];

const ORGS: &[(&str, OrganisationKind, Option<usize>, Option<&str>)] = &[
    ("Agenzia regionale di sanità", OrganisationKind::AgenziaRegionale, None, Some("Regione")),
    ("Azienda USL Toscana nord ovest", OrganisationKind::AuslSerd, None, None),
    ("SerD Zona 1-MS", OrganisationKind::AuslSerd, Some(1), Some("1-MS")),
    ("SerD Zona 6-LI", OrganisationKind::AuslSerd, Some(1), Some("6-LI")),
    ("Comunità terapeutica Il Faro", OrganisationKind::EnteAusiliario, None, Some("1-MS")),
    ("Centro di solidarietà L'Approdo", OrganisationKind::EnteAusiliario, None, Some("6-LI")),
    ("Servizio sociale del Comune di Massa", OrganisationKind::ServizioSociale, None, Some("1-MS")),
    ("Centro per l'impiego di Massa", OrganisationKind::CentroImpiego, None, Some("1-MS")),
    ("Cooperativa sociale La Rete", OrganisationKind::CooperativaSociale, None, Some("1-MS")),
    ("Officine Apuane srl", OrganisationKind::Azienda, None, Some("1-MS")),
    ("Agriturismo Le Colline", OrganisationKind::Azienda, None, Some("6-LI")),
];

const SURNAMES: &[&str] = &[
    "Rossi", "Ferrari", "Esposito", "Romano", "Colombo", "Ricci", "Marino", "Greco", "Bruno", "Gallo", "Conti",
    "De Luca", "Mancini", "Costa", "Giordano", "Rizzo", "Lombardi", "Moretti", "Barbieri", "Fontana",
];
const MALE: &[&str] =
    &["Marco", "Andrea", "Luca", "Giuseppe", "Francesco", "Stefano", "Paolo", "Davide", "Simone", "Massimo"];
const FEMALE: &[&str] =
    &["Giulia", "Chiara", "Francesca", "Sara", "Valentina", "Laura", "Elena", "Martina", "Silvia", "Alessia"];
const SUBSTANCES: &[Substance] = &[
    Substance::Eroina,
    Substance::Eroina,
    Substance::Cocaina,
    Substance::Alcol,
    Substance::Eroina,
    Substance::Cannabis,
    Substance::Alcol,
];

/// Deterministic pseudo-random numbers so the demo is the same on every machine.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

impl Service {
    /// Loads the demo network unless the database already has organisations. Returns whether it loaded.
    pub async fn load_demo(&self) -> Result<bool> {
        let mut tx = self.store().write().await?;
        if !tx.organisations().await?.is_empty() {
            return Ok(false);
        }
        let mut org_ids = Vec::new();
        for (name, kind, parent, territory) in ORGS {
            let o = NewOrganisation {
                name: name.to_string(),
                kind: *kind,
                parent_id: parent.map(|p| org_ids[p]),
                territory: territory.map(str::to_string),
            };
            org_ids.push(tx.insert_organisation(&o).await?);
        }
        // One hash for all demo accounts keeps seeding fast; real accounts each get their own salt.
        let hash = hash_password(DEMO_PASSWORD)?;
        let mut users: Vec<(&str, i64)> = Vec::new();
        let mut memberships = std::collections::HashMap::new();
        for (username, display, org, role) in DEMO_USERS {
            let user_id = match users.iter().find(|(u, _)| u == username) {
                Some((_, id)) => *id,
                None => {
                    let id = tx.insert_user(username, display, &hash).await?;
                    users.push((username, id));
                    id
                }
            };
            let m = tx.insert_membership(user_id, org_ids[*org], role.code()).await?;
            memberships.insert((*username, *org), (user_id, m));
        }
        let uid = |name: &str| users.iter().find(|(u, _)| *u == name).map(|(_, id)| *id).unwrap_or_default();
        let today = crate::today();
        let mut rng = Lcg(2011_2012);
        // (organisation index, case manager) for each block of persons.
        let homes = [(2usize, "anna"), (3, "luca"), (3, "giulia"), (4, "sara")];
        for i in 0..40usize {
            let (org, cm) = homes[i * homes.len() / 40];
            let sex = if rng.next(100) < 22 { Sex::Female } else { Sex::Male };
            let name = if sex == Sex::Female { FEMALE[rng.next(FEMALE.len())] } else { MALE[rng.next(MALE.len())] };
            let surname = SURNAMES[rng.next(SURNAMES.len())];
            let birth =
                NaiveDate::from_ymd_opt(1965 + rng.next(35) as i32, 1 + rng.next(12) as u32, 1 + rng.next(28) as u32)
                    .unwrap_or(today);
            let anonymous = i % 6 == 5;
            let form = PersonForm {
                anonymous,
                surname: surname.into(),
                name: name.into(),
                fiscal_code: if anonymous {
                    String::new()
                } else {
                    fiscal_code::compute(surname, name, birth, sex, if org == 3 { "E625" } else { "F023" })
                },
                birth_date: birth.format("%Y-%m-%d").to_string(),
                sex: sex.code().into(),
                phone: if anonymous { String::new() } else { format!("333 {:07}", rng.next(10_000_000)) },
                education: [
                    "elementare",
                    "media_inferiore",
                    "media_inferiore",
                    "media_superiore",
                    "qualifica_professionale",
                ][rng.next(5)]
                .into(),
                work_history: ["mai", "meno_1_anno", "1_5_anni", "1_5_anni", "6_20_anni"][rng.next(5)].into(),
                citizenship: "italiana".into(),
                ..Default::default()
            };
            // Demo data go through the same validation as user input.
            let p = form.validate()?;
            let code = match &p.code_basis {
                Some(b) => pseudonym::code(&self.pseudonym_key, &b.surname, &b.name, b.birth_date, b.sex),
                None => continue,
            };
            if tx.person_id_by_code(&code).await?.is_some() {
                continue;
            }
            let person_id = tx.insert_person(&code, p.anonymous, &p.profile, org_ids[org]).await?;
            if let Some(identity) = &p.identity {
                tx.insert_identity(person_id, identity).await?;
            }
            let substance = SUBSTANCES[rng.next(SUBSTANCES.len())];
            let start = today - Duration::days(30 + rng.next(900) as i64);
            let episode = NewEpisode {
                start_date: start,
                case_manager_id: uid(cm),
                substance_start: Some(substance),
                substance_current: Some(if rng.next(4) == 0 { Substance::Alcol } else { substance }),
                treatment_in_progress: rng.next(3) > 0,
            };
            let episode_id = tx.insert_episode(person_id, org_ids[org], &episode).await?;
            if i % 7 == 3 {
                // A closed earlier episode with another service shows a non-linear pathway.
                let other = if org == 4 { 2 } else { 4 };
                let (other_cm, past_start) =
                    (if other == 4 { uid("sara") } else { uid("anna") }, start - Duration::days(400));
                let past = NewEpisode { start_date: past_start, case_manager_id: other_cm, ..episode.clone() };
                let past_id = tx.insert_episode(person_id, org_ids[other], &past).await?;
                tx.close_episode(
                    past_id,
                    &EpisodeClose { end_date: start - Duration::days(20), closure: EpisodeClosure::Trasferimento },
                )
                .await?;
            }
            if org == 2 && i % 3 == 0 {
                let (paola, _) = memberships[&("paola", 6)];
                tx.insert_team_member(episode_id, paola, org_ids[6], "Assistente sociale").await?;
                let consent = NewConsent {
                    organisation_id: org_ids[7],
                    purpose: ConsentPurpose::InserimentoLavorativo,
                    start_date: start,
                    expiry_date: None,
                };
                tx.insert_consent(person_id, &consent, uid(cm), org_ids[org]).await?;
            }
            if i % 11 == 4 {
                let consent = NewConsent {
                    organisation_id: org_ids[6],
                    purpose: ConsentPurpose::ProgettoPersonalizzato,
                    start_date: start,
                    expiry_date: Some(start + Duration::days(365)),
                };
                tx.insert_consent(person_id, &consent, uid(cm), org_ids[org]).await?;
            }
        }
        record_system(&mut tx, "system", None, "create", "demo", None, "caricamento dati dimostrativi").await?;
        tx.commit().await?;
        Ok(true)
    }
}
