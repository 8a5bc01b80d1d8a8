use crate::rows::{date, date_text, found, now};
use crate::{Mode, Result, Tx, Write};
use chrono::NaiveDate;
use percorsi_domain::ledger::Balance;
use percorsi_domain::programme::{InterventionType, NewProgramme, Rule};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProgrammeRow {
    pub id: i64,
    pub name: String,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    /// The organisation that runs the programme: its coordinators (and those of the
    /// organisations above it) change rules, budgets and name.
    pub owner_organisation_id: Option<i64>,
    /// Where the money comes from, when said.
    pub funding_source: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RuleRow {
    pub id: i64,
    pub programme_id: i64,
    pub intervention_type: String,
    pub version: i64,
    pub min_months: i64,
    pub max_months: i64,
    pub amount_cents: i64,
    pub amount_kind: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ParticipantRow {
    pub organisation_id: i64,
    pub organisation_name: String,
    pub organisation_kind: String,
    pub budget_cents: i64,
}

/// Planned, activated and concluded interventions of one organisation and type.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct QuotaRow {
    pub organisation_id: i64,
    pub intervention_type: String,
    pub planned: i64,
    pub proposed: i64,
    pub activated: i64,
    pub running: i64,
    pub concluded: i64,
    pub interrupted: i64,
}

fn map_programme(r: &AnyRow) -> Result<ProgrammeRow> {
    Ok(ProgrammeRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        start_date: date(r, "start_date")?,
        end_date: date(r, "end_date")?,
        owner_organisation_id: r.try_get("owner_organisation_id")?,
        funding_source: r.try_get("funding_source")?,
    })
}

fn map_rule(r: &AnyRow) -> Result<RuleRow> {
    Ok(RuleRow {
        id: r.try_get("id")?,
        programme_id: r.try_get("programme_id")?,
        intervention_type: r.try_get("intervention_type")?,
        version: r.try_get("version")?,
        min_months: r.try_get("min_months")?,
        max_months: r.try_get("max_months")?,
        amount_cents: r.try_get("amount_cents")?,
        amount_kind: r.try_get("amount_kind")?,
        created_at: r.try_get("created_at")?,
    })
}

const RULE: &str = "SELECT id, programme_id, intervention_type, version, min_months, max_months, amount_cents, amount_kind, created_at FROM programme_rules";

impl<M: Mode> Tx<M> {
    pub async fn programmes(&mut self) -> Result<Vec<ProgrammeRow>> {
        let rows = sqlx::query("SELECT id, name, start_date, end_date, owner_organisation_id, funding_source FROM programmes ORDER BY start_date DESC, name")
            .fetch_all(self.conn())
            .await?;
        rows.iter().map(map_programme).collect()
    }

    pub async fn programme(&mut self, id: i64) -> Result<Option<ProgrammeRow>> {
        let r =
            sqlx::query("SELECT id, name, start_date, end_date, owner_organisation_id, funding_source FROM programmes WHERE id = $1")
                .bind(id)
                .fetch_optional(self.conn())
                .await?;
        r.as_ref().map(map_programme).transpose()
    }

    /// The rule in force for each type: its latest version.
    pub async fn current_rules(&mut self, programme_id: i64) -> Result<Vec<RuleRow>> {
        let rows = sqlx::query(&format!(
            "{RULE} r WHERE programme_id = $1 AND version = (SELECT MAX(version) FROM programme_rules r2 \
             WHERE r2.programme_id = r.programme_id AND r2.intervention_type = r.intervention_type) ORDER BY intervention_type"
        ))
        .bind(programme_id)
        .fetch_all(self.conn())
        .await?;
        rows.iter().map(map_rule).collect()
    }

    pub async fn rule_history(&mut self, programme_id: i64) -> Result<Vec<RuleRow>> {
        let rows = sqlx::query(&format!("{RULE} WHERE programme_id = $1 ORDER BY intervention_type, version DESC"))
            .bind(programme_id)
            .fetch_all(self.conn())
            .await?;
        rows.iter().map(map_rule).collect()
    }

    pub async fn rule(&mut self, id: i64) -> Result<Option<RuleRow>> {
        let r = sqlx::query(&format!("{RULE} WHERE id = $1")).bind(id).fetch_optional(self.conn()).await?;
        r.as_ref().map(map_rule).transpose()
    }

    pub async fn participants(&mut self, programme_id: i64) -> Result<Vec<ParticipantRow>> {
        let rows = sqlx::query(
            "SELECT p.organisation_id, o.name AS organisation_name, o.kind AS organisation_kind, p.budget_cents \
             FROM programme_participants p JOIN organisations o ON o.id = p.organisation_id WHERE p.programme_id = $1 ORDER BY o.kind, o.name",
        )
        .bind(programme_id)
        .fetch_all(self.conn())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ParticipantRow {
                    organisation_id: r.try_get("organisation_id")?,
                    organisation_name: r.try_get("organisation_name")?,
                    organisation_kind: r.try_get("organisation_kind")?,
                    budget_cents: r.try_get("budget_cents")?,
                })
            })
            .collect()
    }

    pub async fn participant_budget(&mut self, programme_id: i64, organisation_id: i64) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT budget_cents FROM programme_participants WHERE programme_id = $1 AND organisation_id = $2",
        )
        .bind(programme_id)
        .bind(organisation_id)
        .fetch_optional(self.conn())
        .await?)
    }

    /// Planned interventions per organisation and type.
    pub async fn planned(&mut self, programme_id: i64) -> Result<Vec<(i64, InterventionType, i64)>> {
        let rows = sqlx::query(
            "SELECT organisation_id, intervention_type, planned FROM programme_quotas WHERE programme_id = $1",
        )
        .bind(programme_id)
        .fetch_all(self.conn())
        .await?;
        let mut out = Vec::new();
        for r in &rows {
            let t: String = r.try_get("intervention_type")?;
            if let Some(t) = InterventionType::parse(&t) {
                out.push((r.try_get("organisation_id")?, t, r.try_get("planned")?));
            }
        }
        Ok(out)
    }

    /// Planned vs proposed/activated/running/concluded/interrupted per organisation and type:
    /// the running counts, merged with the planned numbers.
    pub async fn quotas(&mut self, programme_id: i64) -> Result<Vec<QuotaRow>> {
        let planned = sqlx::query(
            "SELECT organisation_id, intervention_type, planned FROM programme_quotas WHERE programme_id = $1",
        )
        .bind(programme_id)
        .fetch_all(self.conn())
        .await?;
        // Counted by construction (triggers on `interventions`, migration 0026): a sum over a
        // few hundred rows, however many interventions the programme has.
        let counts = sqlx::query(&format!(
            "SELECT organisation_id, intervention_type, status, started, CAST(SUM(n) AS BIGINT) AS n \
             FROM intervention_counts WHERE programme_id = $1 AND import_id {} \
             GROUP BY organisation_id, intervention_type, status, started",
            crate::imports::NOT_STAGING
        ))
        .bind(programme_id)
        .fetch_all(self.conn())
        .await?;
        let mut out: std::collections::BTreeMap<(i64, String), QuotaRow> = std::collections::BTreeMap::new();
        for r in &planned {
            let key = (r.try_get::<i64, _>("organisation_id")?, r.try_get::<String, _>("intervention_type")?);
            let q = out.entry(key.clone()).or_insert_with(|| QuotaRow {
                organisation_id: key.0,
                intervention_type: key.1.clone(),
                ..Default::default()
            });
            q.planned = r.try_get("planned")?;
        }
        for r in &counts {
            let key = (r.try_get::<i64, _>("organisation_id")?, r.try_get::<String, _>("intervention_type")?);
            let q = out.entry(key.clone()).or_insert_with(|| QuotaRow {
                organisation_id: key.0,
                intervention_type: key.1.clone(),
                ..Default::default()
            });
            let (status, started, n): (String, i64, i64) =
                (r.try_get("status")?, r.try_get("started")?, r.try_get("n")?);
            match status.as_str() {
                "proposto" => q.proposed += n,
                "attivo" | "sospeso" | "prorogato" => q.running += n,
                "concluso" => q.concluded += n,
                "interrotto" => q.interrupted += n,
                _ => {}
            }
            if status != "proposto" && started == 1 {
                q.activated += n;
            }
        }
        Ok(out.into_values().collect())
    }

    /// Each participant's balance: the ledger summed per organisation and kind over a covering
    /// index, merged with the budgets.
    pub async fn balances(&mut self, programme_id: i64) -> Result<Vec<(i64, Balance)>> {
        let budgets = self.participants(programme_id).await?;
        let sums = sqlx::query(
            "SELECT organisation_id, committed_cents, paid_cents, released_cents FROM programme_balances \
             WHERE programme_id = $1",
        )
        .bind(programme_id)
        .fetch_all(self.conn())
        .await?;
        let mut out: Vec<(i64, Balance)> = budgets
            .iter()
            .map(|p| (p.organisation_id, Balance { budget: p.budget_cents, ..Default::default() }))
            .collect();
        for r in &sums {
            let org: i64 = r.try_get("organisation_id")?;
            let Some((_, b)) = out.iter_mut().find(|(o, _)| *o == org) else { continue };
            b.committed_total = r.try_get("committed_cents")?;
            b.paid = r.try_get("paid_cents")?;
            b.released = r.try_get("released_cents")?;
        }
        out.sort_by_key(|(o, _)| *o);
        Ok(out)
    }

    /// (programme, organisation) pairs whose running totals differ from the sum of their ledger
    /// entries: always empty unless something wrote around the store. Checked by the tests and
    /// by backup verification.
    /// The programme's money summed over its participants.
    pub async fn programme_total(&mut self, programme_id: i64) -> Result<Balance> {
        let mut total = Balance::default();
        for (_, b) in self.balances(programme_id).await? {
            total.add(&b);
        }
        Ok(total)
    }

    /// Programmes whose running intervention counts differ from the interventions themselves
    /// (the tests after every race and import; `backup` verification).
    pub async fn counts_out_of_step(&mut self) -> Result<Vec<i64>> {
        let key = "programme_id, organisation_id, intervention_type, status";
        let rows = sqlx::query_scalar(&format!(
            "SELECT DISTINCT programme_id FROM ( \
               SELECT {key}, CASE WHEN actual_start IS NULL THEN 0 ELSE 1 END AS started, COALESCE(import_id, 0) AS import_id, \
                 CAST(COUNT(*) AS BIGINT) AS n FROM interventions \
               GROUP BY {key}, CASE WHEN actual_start IS NULL THEN 0 ELSE 1 END, COALESCE(import_id, 0) \
               UNION ALL \
               SELECT {key}, started, import_id, -n FROM intervention_counts \
             ) d GROUP BY {key}, started, import_id HAVING SUM(n) <> 0 ORDER BY programme_id"
        ))
        .fetch_all(self.conn())
        .await?;
        Ok(rows)
    }

    pub async fn balances_out_of_step(&mut self) -> Result<Vec<(i64, i64)>> {
        let rows = sqlx::query(
            "SELECT s.programme_id, s.organisation_id FROM ( \
               SELECT programme_id, organisation_id, \
                 CAST(SUM(CASE WHEN kind = 'commit' THEN amount_cents ELSE 0 END) AS BIGINT) AS c, \
                 CAST(SUM(CASE WHEN kind = 'pay' THEN amount_cents ELSE 0 END) AS BIGINT) AS p, \
                 CAST(SUM(CASE WHEN kind = 'release' THEN amount_cents ELSE 0 END) AS BIGINT) AS r \
               FROM ledger_entries GROUP BY programme_id, organisation_id) s \
             LEFT JOIN programme_balances b ON b.programme_id = s.programme_id AND b.organisation_id = s.organisation_id \
             WHERE b.programme_id IS NULL OR b.committed_cents <> s.c OR b.paid_cents <> s.p OR b.released_cents <> s.r \
             UNION ALL \
             SELECT b.programme_id, b.organisation_id FROM programme_balances b \
             WHERE (b.committed_cents <> 0 OR b.paid_cents <> 0 OR b.released_cents <> 0) AND NOT EXISTS ( \
               SELECT 1 FROM ledger_entries l WHERE l.programme_id = b.programme_id AND l.organisation_id = b.organisation_id)",
        )
        .fetch_all(self.conn())
        .await?;
        rows.iter().map(|r| Ok((r.try_get("programme_id")?, r.try_get("organisation_id")?))).collect()
    }
}

impl Tx<Write> {
    /// Serialises the changes to one programme's money until commit. SQLite's single writer
    /// already does; PostgreSQL locks the programme row, so concurrent transactions (of any
    /// app server) touching the same budget wait for each other instead of both spending it.
    pub async fn lock_programme(&mut self, programme_id: i64) -> Result<()> {
        if self.backend == crate::Backend::Postgres {
            sqlx::query("SELECT id FROM programmes WHERE id = $1 FOR UPDATE")
                .bind(programme_id)
                .fetch_optional(self.conn())
                .await?;
        }
        Ok(())
    }

    pub async fn insert_programme(&mut self, p: &NewProgramme, owner_organisation_id: i64) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO programmes (name, start_date, end_date, created_at, owner_organisation_id, funding_source) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(&p.name)
        .bind(date_text(p.start_date))
        .bind(date_text(p.end_date))
        .bind(now())
        .bind(owner_organisation_id)
        .bind(&p.funding_source)
        .fetch_one(self.conn())
        .await?)
    }

    pub async fn update_programme(&mut self, id: i64, p: &NewProgramme) -> Result<()> {
        found(
            sqlx::query(
                "UPDATE programmes SET name = $1, start_date = $2, end_date = $3, funding_source = $4 WHERE id = $5",
            )
            .bind(&p.name)
            .bind(date_text(p.start_date))
            .bind(date_text(p.end_date))
            .bind(&p.funding_source)
            .bind(id)
            .execute(self.conn())
            .await?
            .rows_affected(),
        )
    }

    /// Adds a rule as the next version for its type; returns the new rule's id.
    pub async fn insert_rule(&mut self, programme_id: i64, r: &Rule, user_id: Option<i64>) -> Result<i64> {
        let version: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) + 1 FROM programme_rules WHERE programme_id = $1 AND intervention_type = $2")
            .bind(programme_id)
            .bind(r.intervention_type.code())
            .fetch_one(self.conn())
            .await?;
        Ok(sqlx::query_scalar(
            "INSERT INTO programme_rules (programme_id, intervention_type, version, min_months, max_months, amount_cents, amount_kind, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(programme_id)
        .bind(r.intervention_type.code())
        .bind(version)
        .bind(r.min_months as i64)
        .bind(r.max_months as i64)
        .bind(r.amount_cents)
        .bind(r.amount_kind.code())
        .bind(now())
        .bind(user_id)
        .fetch_one(self.conn())
        .await?)
    }

    pub async fn upsert_participant(
        &mut self,
        programme_id: i64,
        organisation_id: i64,
        budget_cents: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO programme_participants (programme_id, organisation_id, budget_cents) VALUES ($1, $2, $3) \
             ON CONFLICT (programme_id, organisation_id) DO UPDATE SET budget_cents = excluded.budget_cents",
        )
        .bind(programme_id)
        .bind(organisation_id)
        .bind(budget_cents)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn upsert_quota(
        &mut self,
        programme_id: i64,
        organisation_id: i64,
        intervention_type: &str,
        planned: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO programme_quotas (programme_id, organisation_id, intervention_type, planned) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (programme_id, organisation_id, intervention_type) DO UPDATE SET planned = excluded.planned",
        )
        .bind(programme_id)
        .bind(organisation_id)
        .bind(intervention_type)
        .bind(planned)
        .execute(self.conn())
        .await?;
        Ok(())
    }
}
