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
use rand::{Rng, SeedableRng};

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
            .insert_programme(&NewProgramme {
                name: "Programma sintetico".into(),
                start_date: start,
                end_date: today + Duration::days(365),
            })
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
            for n in chunk * 5000..((chunk + 1) * 5000).min(size.persons) {
                let org_index = rng.gen_range(0..orgs.len());
                let sex = if rng.gen_bool(0.22) { Sex::Female } else { Sex::Male };
                let birth =
                    NaiveDate::from_ymd_opt(rng.gen_range(1960..2000), rng.gen_range(1..=12), rng.gen_range(1..=28))
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
                    start_date: start + Duration::days(rng.gen_range(0..300)),
                    case_manager_id: managers[org_index],
                    substance_start: Some(
                        [Substance::Eroina, Substance::Cocaina, Substance::Alcol, Substance::Cannabis]
                            [rng.gen_range(0..4)],
                    ),
                    substance_current: None,
                    treatment_in_progress: true,
                };
                tx.insert_episode(pid, orgs[org_index], &episode).await?;
                if rng.gen_bool(0.1) {
                    let other = orgs[rng.gen_range(0..orgs.len())];
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
            for _ in chunk * 5000..((chunk + 1) * 5000).min(size.interventions) {
                let (pid, org_index) = persons[rng.gen_range(0..persons.len())];
                let (t, rule_id) = rule_ids[rng.gen_range(0..rule_ids.len())];
                let months: u32 = if t == InterventionType::EsperienzaFormativa {
                    rng.gen_range(3..=12)
                } else {
                    rng.gen_range(6..=14)
                };
                let planned_start = start + Duration::days(rng.gen_range(0..600));
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
                let status = STATUSES[rng.gen_range(0..STATUSES.len())];
                if status != "proposto" {
                    tx.set_intervention_status(id, "proposto", status, Some(planned_start), None).await?;
                    let cost = amount * months as i64;
                    tx.insert_ledger(programme_id, org, id, "commit", cost, None, cm).await?;
                    let paid_months = rng.gen_range(0..=months.min(3));
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
