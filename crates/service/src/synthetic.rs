//! Synthetic, seeded data for benchmarks: organisations with case managers, people with
//! identities, care episodes and consents, and a programme with interventions in every state
//! and their ledger entries. Written straight through the store in large transactions.

use crate::auth::hash_password;
use crate::{Result, Service};
use chrono::{Duration, NaiveDate};
use percorsi_domain::codes::{OrganisationKind, Role, Sex, Substance};
use percorsi_domain::consent::NewConsent;
use percorsi_domain::episode::NewEpisode;
use percorsi_domain::intervention::NewIntervention;
use percorsi_domain::organisation::NewOrganisation;
use percorsi_domain::person::{Identity, Profile};
use percorsi_domain::programme::{default_rules, InterventionType, NewProgramme};
use percorsi_domain::pseudonym;
use percorsi_store::InterventionInsert;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// The password of every synthetic case manager (`cm1`, `cm2`, …).
pub const BENCH_PASSWORD: &str = "percorsi-bench";

#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub organisations: usize,
    pub persons: usize,
    pub interventions: usize,
}

#[derive(Debug, Clone)]
pub struct Generated {
    pub programme_id: i64,
    pub organisations: usize,
    pub persons: usize,
    pub interventions: usize,
}

const STATUSES: [&str; 6] = ["proposto", "attivo", "sospeso", "prorogato", "concluso", "interrotto"];

/// A distinct letters-only surname for every number: 0 → "Ba", 1 → "Be", …
fn letters(mut n: usize) -> String {
    const SYLLABLES: [&str; 20] = [
        "ba", "be", "bi", "bo", "ca", "ce", "di", "do", "fa", "fe", "la", "le", "li", "ma", "me", "na", "no", "ra",
        "ri", "to",
    ];
    let mut s = String::new();
    loop {
        s.push_str(SYLLABLES[n % SYLLABLES.len()]);
        n /= SYLLABLES.len();
        if n == 0 {
            break;
        }
    }
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or(s)
}

impl Service {
    /// Fills an empty database. Deterministic for a given size and seed.
    pub async fn generate(&self, size: Size, seed: u64) -> Result<Generated> {
        let mut rng = StdRng::seed_from_u64(seed);
        let today = crate::today();
        let hash = hash_password(BENCH_PASSWORD)?;
        let mut tx = self.store().write().await?;
        // Facts are back-filled before the first report: one by one at commit would be slow.
        tx.defer_facts();
        let mut orgs = Vec::with_capacity(size.organisations);
        let mut managers = Vec::with_capacity(size.organisations);
        for i in 0..size.organisations {
            let kind = if i % 5 == 4 { OrganisationKind::EnteAusiliario } else { OrganisationKind::AuslSerd };
            let o = NewOrganisation {
                name: format!("Servizio sintetico {i:03}"),
                kind,
                parent_id: None,
                territory: Some(format!("Z{}", i % 12)),
            };
            let id = tx.insert_organisation(&o).await?;
            let user = tx.insert_user(&format!("cm{}", i + 1), &format!("Case manager {}", i + 1), &hash).await?;
            tx.insert_membership(user, id, Role::CaseManager.code()).await?;
            orgs.push(id);
            managers.push(user);
        }
        let host = tx
            .insert_organisation(&NewOrganisation {
                name: "Azienda ospitante sintetica".into(),
                kind: OrganisationKind::Azienda,
                parent_id: None,
                territory: None,
            })
            .await?;
        let start = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or(today);
        let programme_id = tx
            .insert_programme(
                &NewProgramme {
                    name: "Programma sintetico".into(),
                    start_date: start,
                    end_date: today + Duration::days(365),
                    funding_source: Some("Fondo regionale dipendenze".into()),
                },
                orgs.first().copied().unwrap_or(host),
            )
            .await?;
        let mut rule_ids = Vec::new();
        for r in default_rules() {
            rule_ids.push((r.intervention_type, tx.insert_rule(programme_id, &r, None).await?));
        }
        for o in &orgs {
            tx.upsert_participant(programme_id, *o, 1_000_000_000).await?;
        }
        tx.commit().await?;

        let mut persons = Vec::with_capacity(size.persons);
        for chunk in 0..size.persons.div_ceil(5000) {
            let mut tx = self.store().write().await?;
            // Facts are back-filled before the first report: one by one at commit would be slow.
            tx.defer_facts();
            for n in chunk * 5000..((chunk + 1) * 5000).min(size.persons) {
                let org_index = rng.random_range(0..orgs.len());
                let sex = if rng.random_bool(0.22) { Sex::Female } else { Sex::Male };
                let birth = NaiveDate::from_ymd_opt(
                    rng.random_range(1960..2000),
                    rng.random_range(1..=12),
                    rng.random_range(1..=28),
                )
                .unwrap_or(start);
                // Letters only: the pseudonymous code ignores digits, so "Rossi1" and "Rossi2" would collide.
                let surname = letters(n);
                let code = pseudonym::code(&self.pseudonym_key, &surname, "Nome", birth, sex);
                let profile =
                    Profile { birth_year: Some(chrono::Datelike::year(&birth)), sex: Some(sex), ..Default::default() };
                let anonymous = n % 6 == 5;
                let pid = tx.insert_person(&code, anonymous, &profile, orgs[org_index]).await?;
                if !anonymous {
                    let identity = Identity {
                        surname,
                        name: "Nome".into(),
                        fiscal_code: None,
                        birth_date: birth,
                        phone: None,
                        email: None,
                        address: None,
                    };
                    tx.insert_identity(pid, &identity).await?;
                }
                let episode = NewEpisode {
                    start_date: start + Duration::days(rng.random_range(0..300)),
                    case_manager_id: managers[org_index],
                    substance_start: Some(
                        [Substance::Eroina, Substance::Cocaina, Substance::Alcol, Substance::Cannabis]
                            [rng.random_range(0..4)],
                    ),
                    substance_current: None,
                    treatment_in_progress: true,
                };
                tx.insert_episode(pid, orgs[org_index], &episode).await?;
                if rng.random_bool(0.1) {
                    let other = orgs[rng.random_range(0..orgs.len())];
                    let c = NewConsent {
                        organisation_id: other,
                        purpose: percorsi_domain::codes::ConsentPurpose::ProgettoPersonalizzato,
                        start_date: start,
                        expiry_date: None,
                    };
                    tx.insert_consent(pid, &c, managers[org_index], orgs[org_index]).await?;
                }
                persons.push((pid, org_index));
            }
            tx.commit().await?;
        }

        for chunk in 0..size.interventions.div_ceil(5000) {
            let mut tx = self.store().write().await?;
            // Facts are back-filled before the first report: one by one at commit would be slow.
            tx.defer_facts();
            for _ in chunk * 5000..((chunk + 1) * 5000).min(size.interventions) {
                let (pid, org_index) = persons[rng.random_range(0..persons.len())];
                let (t, rule_id) = rule_ids[rng.random_range(0..rule_ids.len())];
                let months: u32 = if t == InterventionType::EsperienzaFormativa {
                    rng.random_range(3..=12)
                } else {
                    rng.random_range(6..=14)
                };
                let planned_start = start + Duration::days(rng.random_range(0..600));
                let planned_end =
                    planned_start.checked_add_months(chrono::Months::new(months)).unwrap_or(planned_start)
                        - Duration::days(1);
                let amount = if t == InterventionType::EsperienzaFormativa { 40_000 } else { 30_000 };
                let rule = default_rules().into_iter().find(|r| r.intervention_type == t).unwrap_or(default_rules()[0]);
                let new = NewIntervention {
                    programme_id,
                    intervention_type: t,
                    host_organisation_id: host,
                    tutor_id: None,
                    planned_start,
                    planned_end,
                    weekly_days: 5,
                    weekly_hours: 20,
                    monthly_amount_cents: amount,
                    rule,
                };
                let (org, cm) = (orgs[org_index], managers[org_index]);
                let id = tx
                    .insert_intervention(&InterventionInsert {
                        new: &new,
                        rule_id,
                        person_id: pid,
                        organisation_id: org,
                        case_manager_id: cm,
                    })
                    .await?;
                let status = STATUSES[rng.random_range(0..STATUSES.len())];
                if status != "proposto" {
                    tx.set_intervention_status(id, "proposto", status, Some(planned_start), None).await?;
                    let cost = amount * months as i64;
                    tx.insert_ledger(programme_id, org, id, "commit", cost, None, cm).await?;
                    let paid_months = rng.random_range(0..=months.min(3));
                    for m in 0..paid_months {
                        let month = planned_start
                            .checked_add_months(chrono::Months::new(m))
                            .unwrap_or(planned_start)
                            .format("%Y-%m")
                            .to_string();
                        tx.insert_ledger(programme_id, org, id, "pay", amount, Some(&month), cm).await?;
                    }
                    if status == "concluso" || status == "interrotto" {
                        tx.insert_ledger(
                            programme_id,
                            org,
                            id,
                            "release",
                            cost - amount * paid_months as i64,
                            None,
                            cm,
                        )
                        .await?;
                    }
                }
            }
            tx.commit().await?;
        }
        Ok(Generated {
            programme_id,
            organisations: size.organisations,
            persons: size.persons,
            interventions: size.interventions,
        })
    }
}

/// The account that synthetic historical imports are attributed to (an analyst).
pub const BENCH_ANALYST: &str = "analista-bench";
/// The programme synthetic historical data is imported into.
pub const HISTORY_PROGRAMME: &str = "Programma storico sintetico";

/// Draws one of `choices` by weight.
fn pick<'a>(rng: &mut StdRng, choices: &[(&'a str, u32)]) -> &'a str {
    let total: u32 = choices.iter().map(|(_, w)| w).sum();
    let mut n = rng.random_range(0..total.max(1));
    for (v, w) in choices {
        if n < *w {
            return v;
        }
        n -= w;
    }
    choices.last().map_or("", |(v, _)| v)
}

impl Service {
    /// The organisations, analyst and programme a synthetic historical import needs (made
    /// once; reused when present). Returns the programme id and the organisations' names.
    pub async fn prepare_history(&self, organisations: usize) -> Result<(i64, Vec<String>)> {
        let mut tx = self.store().write().await?;
        // Facts are back-filled before the first report: one by one at commit would be slow.
        tx.defer_facts();
        let existing = tx.organisations().await?;
        let mut names = Vec::with_capacity(organisations);
        let mut first = None;
        for i in 0..organisations {
            let name = format!("Ente storico {i:03}");
            let id = match existing.iter().find(|o| o.name == name) {
                Some(o) => o.id,
                None => {
                    let kind = if i % 5 == 4 { OrganisationKind::EnteAusiliario } else { OrganisationKind::AuslSerd };
                    let territory = Some(format!("Z{}", i % 12));
                    tx.insert_organisation(&NewOrganisation { name: name.clone(), kind, parent_id: None, territory })
                        .await?
                }
            };
            first.get_or_insert(id);
            names.push(name);
        }
        if tx.user_by_username(BENCH_ANALYST).await?.is_none() {
            let hash = hash_password(BENCH_PASSWORD)?;
            let user = tx.insert_user(BENCH_ANALYST, "Analista (benchmark)", &hash).await?;
            if let Some(org) = first {
                tx.insert_membership(user, org, Role::Analista.code()).await?;
            }
        }
        let programme_id = match tx.programmes().await?.into_iter().find(|p| p.name == HISTORY_PROGRAMME) {
            Some(p) => p.id,
            None => {
                let id = tx
                    .insert_programme(
                        &NewProgramme {
                            name: HISTORY_PROGRAMME.into(),
                            start_date: NaiveDate::from_ymd_opt(2015, 1, 1).unwrap_or_default(),
                            end_date: NaiveDate::from_ymd_opt(2019, 12, 31).unwrap_or_default(),
                            funding_source: Some("Fondo regionale dipendenze".into()),
                        },
                        first.ok_or_else(|| percorsi_domain::Invalid::one("organisations", "err-required"))?,
                    )
                    .await?;
                for r in default_rules() {
                    tx.insert_rule(id, &r, None).await?;
                }
                for o in tx.organisations().await?.iter().filter(|o| names.contains(&o.name)) {
                    tx.upsert_participant(id, o.id, 50_000_000).await?;
                    for t in InterventionType::ALL {
                        tx.upsert_quota(id, o.id, t.code(), 100).await?;
                    }
                }
                id
            }
        };
        tx.commit().await?;
        Ok((programme_id, names))
    }
}

/// A historical import file (docs/import-format.md) with `interventions` seeded, realistic rows
/// over the given organisations: about one person in six has two interventions.
pub fn history_csv(organisations: &[String], interventions: usize, seed: u64) -> String {
    use std::fmt::Write;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = String::with_capacity(interventions * 220);
    out.push_str(
        "id_intervento;codice_persona;ente;tipo_intervento;data_inizio;data_fine;sesso;anno_nascita;titolo_studio;\
         storia_lavorativa;sostanza_inizio;sostanza_attuale;ricadute;uso_sostanze_legali;uso_sostanze_illegali;esito;\
         tipo_esito_positivo;motivo_interruzione;motivo_interruzione_testo;contratto;valutazione;sezione_a;sezione_b;\
         sezione_c;autonomia_pre;autonomia_post\n",
    );
    let persons = (interventions * 6 / 7).max(1);
    let substances = [("eroina", 55), ("alcol", 22), ("cocaina", 12), ("cannabis", 6), ("altro", 3), ("", 12)];
    for i in 0..interventions {
        // The person's own attributes derive from the person number, so repeated codes agree.
        let p = if i < persons { i } else { rng.random_range(0..persons) };
        let mut prng = StdRng::seed_from_u64(seed ^ (p as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let sex = if prng.random_bool(0.22) { "F" } else { "M" };
        let birth = prng.random_range(1955..1998);
        let org = &organisations[rng.random_range(0..organisations.len())];
        let kind =
            pick(&mut rng, &[("esperienza_formativa", 21), ("inserimento_lavorativo", 26), ("socio_terapeutico", 53)]);
        let (min, max) = if kind == "esperienza_formativa" { (3, 12) } else { (6, 14) };
        let year = rng.random_range(2015..=2019);
        let month = rng.random_range(1..=12);
        let start = NaiveDate::from_ymd_opt(year, month, rng.random_range(1..=28)).unwrap_or_default();
        let months: u32 = rng.random_range(min..=max);
        let end = start.checked_add_months(chrono::Months::new(months)).unwrap_or(start);
        let ending = pick(&mut rng, &[("completato", 58), ("prorogato", 18), ("lavoro", 6), ("interrotto", 18)]);
        let (esito, positive, reason) = match ending {
            "interrotto" => (
                "interrotto",
                "",
                pick(
                    &mut rng,
                    &[
                        ("ricaduta_dipendenza", 30),
                        ("non_interesse_lavoro", 7),
                        ("aggravamento_salute", 13),
                        ("aggravamento_detentivo", 7),
                        ("problemi_azienda", 7),
                        ("abbandono_programma", 7),
                        ("altro", 29),
                    ],
                ),
            ),
            "lavoro" => (
                "positivo",
                if rng.random_bool(0.6) { "lavoro_presso_ente_ospitante" } else { "lavoro_presso_altro_ente" },
                "",
            ),
            other => ("positivo", other, ""),
        };
        let good = esito == "positivo";
        let band = |rng: &mut StdRng| {
            if good {
                pick(rng, &[("basso", 18), ("medio", 42), ("alto", 40)])
            } else {
                pick(rng, &[("basso", 55), ("medio", 33), ("alto", 12)])
            }
        };
        let (a, b, c) = (band(&mut rng), band(&mut rng), band(&mut rng));
        // The autonomy section's total: six items scored 1–4.
        let (low, high) = percorsi_domain::history::AUTONOMY_SCORE;
        let pre = rng.random_range(low..=high - 4);
        let post = (pre + if good { rng.random_range(-3..=6) } else { rng.random_range(-5..=3) }).clamp(low, high);
        let relapses = pick(&mut rng, &[("0", 55), ("2", 24), ("6", 9), ("15", 9), ("", 3)]);
        let uses = if rng.random_bool(if good { 0.44 } else { 0.7 }) {
            ("si", if rng.random_bool(0.5) { "si" } else { "no" })
        } else {
            ("no", "no")
        };
        let contract = if positive.starts_with("lavoro") || (good && rng.random_bool(0.12)) {
            pick(
                &mut rng,
                &[
                    ("tempo_indeterminato", 60),
                    ("tempo_determinato", 15),
                    ("formazione_lavoro", 15),
                    ("collaborazione_borsa_lavoro", 10),
                ],
            )
        } else {
            ""
        };
        let evaluation = pick(
            &mut rng,
            &[("positiva", 70), ("parzialmente_positiva", 21), ("parzialmente_negativa", 5), ("negativa", 4)],
        );
        let _ = writeln!(
            out,
            "S-{i:07};SP{p:07};{org};{kind};{start};{end};{sex};{birth};{};{};{};{};{relapses};{};{};{esito};{positive};{reason};{};{contract};{evaluation};{a};{b};{c};{pre};{post}",
            pick(&mut prng, &[("elementare", 15), ("media_inferiore", 65), ("media_superiore", 10), ("qualifica_professionale", 6), ("laurea", 2), ("nessuno", 2)]),
            pick(&mut prng, &[("mai", 6), ("meno_1_anno", 9), ("1_5_anni", 50), ("6_20_anni", 31), ("oltre_20_anni", 4)]),
            pick(&mut rng, &substances),
            pick(&mut rng, &substances),
            uses.0,
            uses.1,
            if reason == "altro" { "altro motivo" } else { "" },
        );
    }
    out
}
