//! The demo network: enough organisations, users and people to try every role.
//! Loaded into an empty database by `serve --demo` or `percorsi demo`.

use crate::audit::record_system;
use crate::auth::hash_password;
use crate::{Result, Service};
use chrono::{Datelike, Duration, NaiveDate};
use percorsi_domain::codes::{ConsentPurpose, EpisodeClosure, OrganisationKind, Role, Sex, Substance};
use percorsi_domain::consent::NewConsent;
use percorsi_domain::episode::{EpisodeClose, NewEpisode};
use percorsi_domain::fiscal_code;
use percorsi_domain::instrument::AssessmentKind;
use percorsi_domain::intervention::{
    AttendanceForm, ConclusionForm, InterventionForm, MonitoringForm, PaymentForm, TransitionForm,
};
use percorsi_domain::organisation::NewOrganisation;
use percorsi_domain::person::PersonForm;
use percorsi_domain::programme::{ParticipationForm, ProgrammeForm};
use percorsi_domain::pseudonym;
use std::collections::BTreeMap;

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
    // Seed 001's twelve AUSL zones and the coordination of enti ausiliari, for its historical data.
    ("1-MS", OrganisationKind::AuslSerd, None, Some("1-MS")),
    ("2-LU", OrganisationKind::AuslSerd, None, Some("2-LU")),
    ("3-PT", OrganisationKind::AuslSerd, None, Some("3-PT")),
    ("4-PO", OrganisationKind::AuslSerd, None, Some("4-PO")),
    ("5-PI", OrganisationKind::AuslSerd, None, Some("5-PI")),
    ("6-LI", OrganisationKind::AuslSerd, None, Some("6-LI")),
    ("7-SI", OrganisationKind::AuslSerd, None, Some("7-SI")),
    ("8-AR", OrganisationKind::AuslSerd, None, Some("8-AR")),
    ("9-GR", OrganisationKind::AuslSerd, None, Some("9-GR")),
    ("10-FI", OrganisationKind::AuslSerd, None, Some("10-FI")),
    ("11-Emp", OrganisationKind::AuslSerd, None, Some("11-Emp")),
    ("12-Viar.", OrganisationKind::AuslSerd, None, Some("12-Viar.")),
    ("CEART", OrganisationKind::EnteAusiliario, None, Some("Regione")),
];

/// Seed 001 rebuilt as data (scripts/seed001_fixture.py): 179 interventions of 2011–2012.
pub const SEED001_CSV: &str = include_str!("../../../tests/fixtures/seed001/interventi.csv");

/// The programme the seed-001 data is imported into, and the interventions each organisation
/// had planned (the seed prints them per organisation only).
pub const SEED001_PROGRAMME: &str = "ARS Toscana 2011–2012 (dati storici)";
pub const SEED001_PLANNED: [(&str, i64); 13] = [
    ("1-MS", 9),
    ("2-LU", 9),
    ("3-PT", 10),
    ("4-PO", 9),
    ("5-PI", 9),
    ("6-LI", 10),
    ("7-SI", 9),
    ("8-AR", 11),
    ("9-GR", 9),
    ("10-FI", 13),
    ("11-Emp", 9),
    ("12-Viar.", 9),
    ("CEART", 25),
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
        self.load_protocol_demo().await?;
        self.load_history_demo().await?;
        self.load_network_demo().await?;
        Ok(true)
    }

    /// Two programmes run through the real use cases: the seed's "Inserimenti lavorativi
    /// 2011–2012" (concluded and interrupted interventions) and a current one with interventions
    /// in every state, payments, relapses and filled forms.
    async fn load_protocol_demo(&self) -> Result<()> {
        self.ensure_instruments().await?;
        let coord = self.demo_actor("coordinatore").await?;
        let anna = self.demo_actor("anna").await?;
        let sara = self.demo_actor("sara").await?;
        let orgs = self.organisations().await?;
        let org =
            |part: &str| orgs.iter().find(|o| o.name.contains(part)).map(|o| o.id.to_string()).unwrap_or_default();
        let davide = self.cli_membership("davide", None, None).await?.user_id.to_string();
        let tutor_davide = self.demo_actor("davide").await?;
        let mut rng = Lcg(179);
        let today = crate::today();
        let old = self
            .create_programme(
                &coord,
                &programme_form(
                    "Inserimenti lavorativi 2011–2012",
                    "2011-01-01",
                    "2012-12-31",
                    "Fondo regionale dipendenze",
                ),
            )
            .await?;
        let current_start = NaiveDate::from_ymd_opt(today.year() - 1, 1, 1).unwrap_or(today);
        let current_end = NaiveDate::from_ymd_opt(today.year() + 1, 12, 31).unwrap_or(today);
        let name = format!("Inserimenti lavorativi {}–{}", current_start.year(), current_end.year());
        let current = self
            .create_programme(&coord, &programme_form(&name, &iso(current_start), &iso(current_end), "FSE+ Toscana"))
            .await?;
        for p in [old, current] {
            for (o, budget, st, il, ef) in [
                ("SerD Zona 1-MS", "40.000", "5", "2", "2"),
                ("SerD Zona 6-LI", "36.000", "6", "3", "1"),
                ("Il Faro", "30.000", "4", "2", "2"),
                ("Approdo", "20.000", "2", "2", "1"),
            ] {
                let form = ParticipationForm {
                    organisation_id: org(o),
                    budget: budget.into(),
                    planned_socio_terapeutico: st.into(),
                    planned_inserimento_lavorativo: il.into(),
                    planned_esperienza_formativa: ef.into(),
                };
                self.set_participation(&coord, p, &form).await?;
            }
        }
        let hosts = [org("Officine Apuane"), org("Agriturismo"), org("Cooperativa sociale La Rete")];
        // Historic programme: Il Faro's people, all concluded or interrupted.
        let faro_people: Vec<i64> =
            self.followed(&sara).await?.into_iter().filter(|p| !p.anonymous).map(|p| p.id).collect();
        for (n, person) in faro_people.iter().take(6).enumerate() {
            let start = NaiveDate::from_ymd_opt(2011, 2 + n as u32, 1).unwrap_or(today);
            let (t, months, amount) = [
                ("socio_terapeutico", 8, "300"),
                ("inserimento_lavorativo", 6, "300"),
                ("esperienza_formativa", 4, "350"),
            ][n % 3];
            let end = add_months(start, months);
            let tutor = if n % 3 == 0 { davide.clone() } else { String::new() };
            let host = if n % 3 == 0 { hosts[0].clone() } else { hosts[1 + n % 2].clone() };
            if t == "inserimento_lavorativo" {
                self.assess_capacities(&sara, *person, today - Duration::days(30)).await?;
            }
            let id =
                self.create_intervention(&sara, *person, &plan_form(old, t, &host, &tutor, start, end, amount)).await?;
            self.transition(&sara, id, &step("attiva", start, None)).await?;
            self.fill_form(&sara, id, AssessmentKind::PreIntervento, &iso(start), &answers(&mut rng, false)).await?;
            for m in 0..months.min(3) {
                self.record_payment(&sara, id, &PaymentForm { month: nth_month(start, m), amount: amount.into() })
                    .await?;
            }
            let interrupted = n == 4;
            self.record_monitoring(
                &sara,
                id,
                &MonitoringForm { relapse_count: ["0", "2", "0", "5", "12", "1"][n].into(), ..Default::default() },
            )
            .await?;
            let with_tutor = (!tutor.is_empty()).then_some(&tutor_davide);
            self.fill_post(&sara, with_tutor, id, &iso(end), answers(&mut rng, true)).await?;
            let conclusion = if interrupted {
                ConclusionForm {
                    end_date: iso(add_months(start, 2)),
                    outcome: "interrotto".into(),
                    interruption_reason: "ricaduta_dipendenza".into(),
                    evaluation: "parzialmente_negativa".into(),
                    ..Default::default()
                }
            } else {
                let kind = [
                    "completato",
                    "lavoro_presso_ente_ospitante",
                    "completato",
                    "prorogato",
                    "",
                    "lavoro_presso_altro_ente",
                ][n];
                let mut c = ConclusionForm {
                    end_date: iso(end),
                    outcome: "positivo".into(),
                    positive_kind: kind.into(),
                    evaluation: ["positiva", "positiva", "parzialmente_positiva", "positiva", "", "positiva"][n].into(),
                    ..Default::default()
                };
                if kind.starts_with("lavoro") {
                    c.contract_kind = "tempo_determinato".into();
                    c.contract_date = iso(end + Duration::days(10));
                    c.contract_employer = "Officine Apuane srl".into();
                }
                c
            };
            self.conclude(&sara, id, &conclusion).await?;
        }
        // Current programme: SerD 1-MS's people, one intervention in each state.
        let anna_people: Vec<i64> =
            self.followed(&anna).await?.into_iter().filter(|p| !p.anonymous).map(|p| p.id).collect();
        let states = ["proposto", "attivo", "attivo_fine", "sospeso", "prorogato", "concluso", "interrotto"];
        for (n, (person, state)) in anna_people.iter().zip(states).enumerate() {
            let months: u32 = if state == "attivo_fine" { 6 } else { 8 };
            let start = if state == "attivo_fine" {
                add_months(today, 0) - Duration::days(160)
            } else {
                current_start + Duration::days(30 * n as i64)
            };
            let end = add_months(start, months);
            let (t, amount) =
                [("inserimento_lavorativo", "300"), ("socio_terapeutico", "300"), ("esperienza_formativa", "400")]
                    [n % 3];
            if t == "inserimento_lavorativo" {
                self.assess_capacities(&anna, *person, today - Duration::days(30)).await?;
            }
            let id = self
                .create_intervention(&anna, *person, &plan_form(current, t, &hosts[0], &davide, start, end, amount))
                .await?;
            if state == "proposto" {
                continue;
            }
            self.transition(&anna, id, &step("attiva", start, None)).await?;
            self.fill_form(&anna, id, AssessmentKind::PreIntervento, &iso(start), &answers(&mut rng, false)).await?;
            let worked = percorsi_domain::intervention::months_between(start, today.min(end)).min(months);
            for m in 0..worked.min(4) {
                self.record_payment(&anna, id, &PaymentForm { month: nth_month(start, m), amount: amount.into() })
                    .await?;
            }
            self.record_attendance(
                &anna,
                id,
                &AttendanceForm {
                    month: start.format("%Y-%m").to_string(),
                    days_planned: "20".into(),
                    days_present: "18".into(),
                    note: String::new(),
                },
            )
            .await?;
            self.record_monitoring(
                &anna,
                id,
                &MonitoringForm {
                    relapse_count: (n % 4).to_string(),
                    legal_substance_use: "si".into(),
                    illegal_substance_use: "no".into(),
                },
            )
            .await?;
            match state {
                "sospeso" => {
                    self.transition(&anna, id, &step("sospendi", start + Duration::days(60), Some("ricovero breve")))
                        .await?;
                }
                "prorogato" => {
                    self.transition(
                        &anna,
                        id,
                        &TransitionForm {
                            transition: "proroga".into(),
                            date: iso(start + Duration::days(90)),
                            new_end: iso(add_months(start, 12)),
                            note: String::new(),
                        },
                    )
                    .await?;
                }
                "concluso" | "interrotto" => {
                    self.fill_post(&anna, Some(&tutor_davide), id, &iso(end.min(today)), answers(&mut rng, true))
                        .await?;
                    let c = if state == "concluso" {
                        ConclusionForm {
                            end_date: iso(end.min(today)),
                            outcome: "positivo".into(),
                            positive_kind: "completato".into(),
                            evaluation: "positiva".into(),
                            ..Default::default()
                        }
                    } else {
                        ConclusionForm {
                            end_date: iso(add_months(start, 2)),
                            outcome: "interrotto".into(),
                            interruption_reason: "altro".into(),
                            interruption_text: "trasferimento in altra regione".into(),
                            evaluation: "negativa".into(),
                            ..Default::default()
                        }
                    };
                    self.conclude(&anna, id, &c).await?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Seed 001's historical programme, imported by the analyst through the historical import,
    /// so that the outcome report shows the seed's tables from the first start.
    async fn load_history_demo(&self) -> Result<()> {
        let coord = self.demo_actor("coordinatore").await?;
        let analyst = self.demo_actor("analista").await?;
        let orgs = self.organisations().await?;
        let id = self
            .create_programme(
                &coord,
                &programme_form(SEED001_PROGRAMME, "2011-01-01", "2012-12-31", "Fondo regionale dipendenze"),
            )
            .await?;
        for (name, planned) in SEED001_PLANNED {
            let Some(o) = orgs.iter().find(|o| o.name == name) else { continue };
            let form = ParticipationForm {
                organisation_id: o.id.to_string(),
                budget: "60.000".into(),
                planned_socio_terapeutico: planned.to_string(),
                ..Default::default()
            };
            self.set_participation(&coord, id, &form).await?;
        }
        let outcome = self
            .import_history(
                crate::import::Importer::User(&analyst),
                id,
                "seed001-interventi.csv",
                SEED001_CSV.as_bytes(),
            )
            .await?;
        if !outcome.written {
            return Err(crate::ServiceError::Broken(format!("seed 001 fixture refused: {:?}", outcome.errors.first())));
        }
        Ok(())
    }

    /// The network around Anna's people: assessments, personalised projects with a review,
    /// opportunities (a Housing First flat among them) and a placement, referrals (one accepted
    /// under consent, one waiting), a coordination group with its first meeting.
    async fn load_network_demo(&self) -> Result<()> {
        use percorsi_domain::consent::ConsentForm;
        use percorsi_domain::opportunity::{OpportunityForm, PlacementForm};
        use percorsi_domain::referral::{DecisionForm, ReferralForm};
        let anna = self.demo_actor("anna").await?;
        let paola = self.demo_actor("paola").await?;
        let marco = self.demo_actor("marco").await?;
        let coord = self.demo_actor("coordinatore").await?;
        let orgs = self.organisations().await?;
        let org = |name: &str| orgs.iter().find(|o| o.name.contains(name)).map(|o| o.id).unwrap_or_default();
        let today = crate::today();
        let day = |d: i64| iso(today + chrono::Duration::days(d));
        let map = |pairs: &[(&str, String)]| -> BTreeMap<String, String> {
            pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
        };
        let opportunity =
            |kind: &str, axis: &str, title: &str, territory: &str, capacity: &str, housing: (&str, &str)| {
                OpportunityForm {
                    kind: kind.into(),
                    axis: axis.into(),
                    title: title.into(),
                    description: String::new(),
                    territory: territory.into(),
                    capacity: capacity.into(),
                    housing_kind: housing.0.into(),
                    support_intensity: housing.1.into(),
                    // Seed 001's zones: 1-MS is Massa-Carrara, the others Livorno's.
                    city: if territory == "1-MS" { "Massa" } else { "Livorno" }.into(),
                    province: if territory == "1-MS" { "MS" } else { "LI" }.into(),
                    languages: "it".into(),
                    ..OpportunityForm::default()
                }
            };
        let flat = self
            .add_opportunity(
                &paola,
                &opportunity(
                    "abitazione",
                    "casa_habitat",
                    "Appartamento Housing First via Roma",
                    "1-MS",
                    "2",
                    ("housing_first", "alta"),
                ),
            )
            .await?;
        self.add_opportunity(
            &paola,
            &opportunity(
                "abitazione",
                "casa_habitat",
                "Gruppo di convivenza Le Querce",
                "6-LI",
                "4",
                ("gruppo_convivenza", "media"),
            ),
        )
        .await?;
        self.add_opportunity(
            &paola,
            &opportunity(
                "socializzazione",
                "affettivita_socialita",
                "Laboratorio di teatro sociale",
                "1-MS",
                "12",
                ("", ""),
            ),
        )
        .await?;
        self.add_opportunity(
            &marco,
            &opportunity(
                "formazione",
                "formazione_lavoro",
                "Corso di magazziniere con patentino",
                "1-MS",
                "10",
                ("", ""),
            ),
        )
        .await?;
        self.add_opportunity(
            &marco,
            &opportunity("lavoro", "formazione_lavoro", "Tirocinio in cooperativa sociale", "1-MS", "3", ("", "")),
        )
        .await?;

        let people: Vec<i64> =
            self.followed(&anna).await?.into_iter().filter(|p| !p.anonymous).map(|p| p.id).take(2).collect();
        let items: Vec<String> = self
            .assessment_instrument()
            .await?
            .sections
            .iter()
            .flat_map(|s| s.items.iter().map(|i| i.code.clone()))
            .collect();
        for (n, person) in people.iter().enumerate() {
            for (when, score, class) in
                [(-200, "1", "td_alto_carico_bassa_dinamicita"), (-20, "3", "td_basso_carico_alta_dinamicita")]
            {
                let mut a = map(&[("assessed_on", day(when)), ("user_class", class.into())]);
                for item in &items {
                    a.insert(item.clone(), if n == 1 && item.starts_with("rel") { "2".into() } else { score.into() });
                }
                self.assess_person(&anna, *person, &a).await?;
            }
            let serd = org("SerD Zona 1-MS").to_string();
            let cpi = org("Centro per l'impiego").to_string();
            let plan = map(&[
                ("start_date", day(-150)),
                ("end_date", day(215)),
                ("next_review", day(if n == 0 { 10 } else { -5 })),
                ("budget_casa_habitat", "3.600".into()),
                ("budget_formazione_lavoro", "2.400".into()),
                ("o0_axis", "casa_habitat".into()),
                ("o0_title", "Una casa stabile".into()),
                ("o0_results", "Vivere nell'appartamento con un sostegno educativo".into()),
                ("o0_supports", "inserimento_abitativo,sostegno_socio_educativo".into()),
                ("o0_org", org("Servizio sociale").to_string()),
                ("o0_person", "Curare la casa e pagare le utenze".into()),
                ("o0_services", "Visite settimanali dell'educatore".into()),
                ("o1_axis", "formazione_lavoro".into()),
                ("o1_title", "Riprendere un lavoro".into()),
                ("o1_results", "Concludere il corso e avviare un tirocinio".into()),
                ("o1_supports", "tirocinio_inclusione_sociale".into()),
                ("o1_org", cpi),
                ("o1_due", day(-10)),
                ("o2_axis", "salute_cura".into()),
                ("o2_title", "Continuità delle cure".into()),
                ("o2_results", "Appuntamenti al SerD rispettati".into()),
                ("o2_org", serd),
            ]);
            let project = self.create_project(&anna, *person, &plan).await?;
            let review = map(&[
                ("review_date", day(-60)),
                ("participants", "la persona, SerD, servizio sociale, CPI".into()),
                ("next_review", day(if n == 0 { 10 } else { -5 })),
                ("o0_outcome", "parzialmente_raggiunto".into()),
                ("o1_outcome", "non_raggiunto".into()),
                ("o2_outcome", "raggiunto".into()),
            ]);
            self.review_project(&anna, project, &review).await?;
            if n == 0 {
                let place = PlacementForm {
                    person_id: person.to_string(),
                    start_date: day(-45),
                    project_id: project.to_string(),
                    objective: "1".into(),
                    target: String::new(),
                };
                self.place(&anna, flat, &place).await?;
                // Referred to the employment centre, with the person's consent: accepted.
                let consent = ConsentForm {
                    organisation_id: org("Centro per l'impiego").to_string(),
                    purpose: "inserimento_lavorativo".into(),
                    start_date: day(-40),
                    expiry_date: day(320),
                };
                self.record_consent(&anna, *person, &consent).await?;
                let r = ReferralForm {
                    to_organisation_id: org("Centro per l'impiego").to_string(),
                    support: "tirocinio_inclusione_sociale".into(),
                    reason: "Orientamento e tirocinio dopo il corso".into(),
                    urgency: "ordinaria".into(),
                    self_referral: false,
                };
                let id = self.refer(&anna, *person, &r).await?;
                self.decide_referral(&marco, id, &DecisionForm { decision: "accettata".into(), reason: String::new() })
                    .await?;
            } else {
                let r = ReferralForm {
                    to_organisation_id: org("Il Faro").to_string(),
                    support: "inserimento_abitativo".into(),
                    reason: "Rischio di perdere l'alloggio".into(),
                    urgency: "urgente".into(),
                    self_referral: false,
                };
                self.refer(&anna, *person, &r).await?;
            }
        }
        let group = self
            .create_group(
                &coord,
                "Gruppo permanente di coordinamento Massa",
                "1-MS",
                &[org("Il Faro"), org("Servizio sociale"), org("Centro per l'impiego")],
            )
            .await?;
        self.add_meeting(&coord, group, &day(-30), "Presenti SerD, Il Faro, servizio sociale, CPI. Condivisi i posti abitativi e formativi disponibili; prossimo incontro tra due mesi.")
            .await?;
        Ok(())
    }

    /// The post form as its authors fill it: the tutor their observations, the case manager
    /// the rest.
    async fn fill_post(
        &self,
        case_manager: &crate::Actor,
        tutor: Option<&crate::Actor>,
        id: i64,
        day: &str,
        answers: BTreeMap<String, String>,
    ) -> Result<()> {
        let Some(tutor) = tutor else {
            self.fill_form(case_manager, id, AssessmentKind::PostIntervento, day, &answers).await?;
            return Ok(());
        };
        let view = self.form(tutor, id, AssessmentKind::PostIntervento).await?;
        let observed = |code: &str| view.instrument.sections.iter().any(|s| s.items.iter().any(|i| i.code == code));
        let (by_tutor, by_case_manager): (BTreeMap<_, _>, BTreeMap<_, _>) =
            answers.into_iter().partition(|(k, _)| observed(k));
        self.fill_form(case_manager, id, AssessmentKind::PostIntervento, day, &by_case_manager).await?;
        self.fill_form(tutor, id, AssessmentKind::PostIntervento, day, &by_tutor).await?;
        Ok(())
    }

    /// A multidimensional assessment with middle answers that keeps the person's user class
    /// (the demo's and the tests' way to make someone eligible for a work insertion).
    pub async fn assess_capacities(&self, actor: &crate::Actor, person_id: i64, day: NaiveDate) -> Result<i64> {
        let class = {
            let mut tx = self.store().read().await?;
            let p = tx.person(person_id).await?;
            tx.commit().await?;
            p.and_then(|p| p.user_class).unwrap_or_else(|| "td_basso_carico_alta_dinamicita".into())
        };
        let mut a: BTreeMap<String, String> =
            BTreeMap::from([("assessed_on".to_string(), iso(day)), ("user_class".to_string(), class)]);
        for s in self.assessment_instrument().await?.sections {
            for i in s.items {
                a.insert(i.code, "2".into());
            }
        }
        self.assess_person(actor, person_id, &a).await
    }

    async fn demo_actor(&self, username: &str) -> Result<crate::Actor> {
        let m = self.cli_membership(username, None, None).await?;
        crate::auth::actor_from(&m).ok_or(crate::ServiceError::NotFound)
    }
}

fn iso(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// The last day of the `months`-th month from `start`: `start` + `months` months − 1 day.
fn add_months(start: NaiveDate, months: u32) -> NaiveDate {
    start.checked_add_months(chrono::Months::new(months)).map(|d| d - Duration::days(1)).unwrap_or(start)
}

/// `YYYY-MM` of the `m`-th month of an intervention starting on `start` (0 is the first).
fn nth_month(start: NaiveDate, m: u32) -> String {
    start.checked_add_months(chrono::Months::new(m)).unwrap_or(start).format("%Y-%m").to_string()
}

fn programme_form(name: &str, start: &str, end: &str, funding: &str) -> ProgrammeForm {
    ProgrammeForm { name: name.into(), start_date: start.into(), end_date: end.into(), funding_source: funding.into() }
}

fn plan_form(
    programme: i64,
    t: &str,
    host: &str,
    tutor: &str,
    start: NaiveDate,
    end: NaiveDate,
    amount: &str,
) -> InterventionForm {
    InterventionForm {
        programme_id: programme.to_string(),
        intervention_type: t.into(),
        host_organisation_id: host.into(),
        tutor_id: tutor.into(),
        planned_start: iso(start),
        planned_end: iso(end),
        weekly_days: "5".into(),
        weekly_hours: "20".into(),
        monthly_amount: amount.into(),
    }
}

fn step(t: &str, date: NaiveDate, note: Option<&str>) -> TransitionForm {
    TransitionForm {
        transition: t.into(),
        date: iso(date),
        new_end: String::new(),
        note: note.unwrap_or_default().into(),
    }
}

/// Plausible answers: autonomy a little better after than before, A/B/C spread out.
fn answers(rng: &mut Lcg, post: bool) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    for code in ["aut_denaro", "aut_casa", "aut_servizi", "aut_appuntamenti", "aut_rete", "aut_tempo"] {
        let base = 1 + rng.next(3) as i64;
        a.insert(code.to_string(), (if post { (base + rng.next(2) as i64).min(4) } else { base }).to_string());
    }
    if post {
        for code in [
            "a_puntualita",
            "a_orari",
            "a_regole",
            "a_attrezzature",
            "a_sicurezza",
            "b_colleghi",
            "b_responsabili",
            "b_frustrazione",
            "b_aiuto",
            "b_motivazione",
            "c_comprensione",
            "c_autonomia",
            "c_precisione",
            "c_organizzazione",
            "c_problemi",
        ] {
            a.insert(code.to_string(), (1 + rng.next(4)).to_string());
        }
        a.insert("frequenza".into(), (1 + rng.next(3)).to_string());
        a.insert("tempi".into(), (1 + rng.next(3)).to_string());
        a.insert("uso_sostanze_legali".into(), rng.next(2).to_string());
        a.insert("uso_sostanze_illegali".into(), rng.next(2).to_string());
    } else {
        a.insert("condizione_economica".into(), (1 + rng.next(3)).to_string());
        a.insert("condizione_lavorativa".into(), (1 + rng.next(4)).to_string());
        a.insert("stato_dipendenza".into(), (1 + rng.next(4)).to_string());
        a.insert("trattamento".into(), (1 + rng.next(4)).to_string());
    }
    a
}
