use crate::rows::{date, date_text, found, now, opt_bool, opt_date};
use crate::scope::{scoped, Owners, Scope};
use crate::{Mode, Result, Tx, Write};
use chrono::NaiveDate;
use percorsi_domain::intervention::{Attendance, Conclusion, Monitoring, NewIntervention, Outcome};
use percorsi_domain::ledger::{Balance, InterventionMoney};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

/// Everything about an intervention, for roles that may see health data.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InterventionRow {
    pub id: i64,
    pub programme_id: i64,
    pub programme_name: String,
    pub rule_id: i64,
    pub rule_version: i64,
    pub person_id: i64,
    pub person_code: String,
    /// "Surname Name" where the reader may see the person's identity (`Scope::names`).
    pub person_name: Option<String>,
    pub organisation_id: i64,
    pub organisation_name: String,
    pub case_manager_id: i64,
    pub case_manager_name: String,
    pub intervention_type: String,
    pub host_organisation_id: i64,
    pub host_name: String,
    pub tutor_id: Option<i64>,
    pub tutor_name: Option<String>,
    pub planned_start: NaiveDate,
    pub planned_end: NaiveDate,
    pub actual_start: Option<NaiveDate>,
    pub actual_end: Option<NaiveDate>,
    pub weekly_days: i64,
    pub weekly_hours: i64,
    pub monthly_amount_cents: i64,
    pub status: String,
    pub relapse_count: Option<i64>,
    pub legal_substance_use: Option<bool>,
    pub illegal_substance_use: Option<bool>,
    pub outcome: Option<String>,
    pub positive_kind: Option<String>,
    pub interruption_reason: Option<String>,
    pub interruption_text: Option<String>,
    pub contract_kind: Option<String>,
    pub contract_date: Option<NaiveDate>,
    pub contract_employer: Option<String>,
    pub evaluation: Option<String>,
}

/// What a company tutor may see: the schedule and who it is for. No relapses, substances,
/// conclusion reasons or evaluations: this type has no field for them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TutorInterventionRow {
    pub id: i64,
    pub person_code: String,
    pub surname: Option<String>,
    pub name: Option<String>,
    pub intervention_type: String,
    pub organisation_name: String,
    pub case_manager_name: String,
    pub host_name: String,
    pub planned_start: NaiveDate,
    pub planned_end: NaiveDate,
    pub actual_start: Option<NaiveDate>,
    pub actual_end: Option<NaiveDate>,
    pub weekly_days: i64,
    pub weekly_hours: i64,
    pub status: String,
}

/// A line of an intervention list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InterventionSummary {
    pub id: i64,
    pub person_id: i64,
    /// The organisation that runs it.
    pub organisation_id: i64,
    pub person_code: String,
    pub surname: Option<String>,
    pub name: Option<String>,
    pub programme_name: String,
    pub intervention_type: String,
    pub host_name: String,
    pub status: String,
    pub planned_start: NaiveDate,
    pub planned_end: NaiveDate,
    pub actual_start: Option<NaiveDate>,
    pub has_pre: bool,
    pub has_post: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EventRow {
    pub transition: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub event_date: NaiveDate,
    pub note: Option<String>,
    pub user_name: String,
    pub at: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PaymentRow {
    pub month: String,
    pub amount_cents: i64,
    pub at: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AttendanceRow {
    pub month: String,
    pub days_planned: i64,
    pub days_present: i64,
    pub note: Option<String>,
}

/// The fields an intervention row is made of; `new_intervention` below fills them.
pub struct InterventionInsert<'a> {
    pub new: &'a NewIntervention,
    pub rule_id: i64,
    pub person_id: i64,
    pub organisation_id: i64,
    pub case_manager_id: i64,
}

/// The intervention columns with `name_column` (the scope's `person_name`).
fn select(name_column: &str) -> String {
    format!("SELECT i.id, i.programme_id, pr.name AS programme_name, i.rule_id, r.version AS rule_version, i.person_id, p.code AS person_code, {name_column}, \
    i.organisation_id, o.name AS organisation_name, i.case_manager_id, cm.display_name AS case_manager_name, i.intervention_type, \
    i.host_organisation_id, h.name AS host_name, i.tutor_id, tu.display_name AS tutor_name, i.planned_start, i.planned_end, i.actual_start, i.actual_end, \
    i.weekly_days, i.weekly_hours, i.monthly_amount_cents, i.status, i.relapse_count, i.legal_substance_use, i.illegal_substance_use, \
    i.outcome, i.positive_kind, i.interruption_reason, i.interruption_text, i.contract_kind, i.contract_date, i.contract_employer, i.evaluation \
    FROM interventions i JOIN programmes pr ON pr.id = i.programme_id JOIN programme_rules r ON r.id = i.rule_id \
    JOIN persons p ON p.id = i.person_id JOIN organisations o ON o.id = i.organisation_id JOIN users cm ON cm.id = i.case_manager_id \
    JOIN organisations h ON h.id = i.host_organisation_id LEFT JOIN users tu ON tu.id = i.tutor_id")
}

fn map_row(r: &AnyRow) -> Result<InterventionRow> {
    Ok(InterventionRow {
        id: r.try_get("id")?,
        programme_id: r.try_get("programme_id")?,
        programme_name: r.try_get("programme_name")?,
        rule_id: r.try_get("rule_id")?,
        rule_version: r.try_get("rule_version")?,
        person_id: r.try_get("person_id")?,
        person_code: r.try_get("person_code")?,
        person_name: r.try_get("person_name")?,
        organisation_id: r.try_get("organisation_id")?,
        organisation_name: r.try_get("organisation_name")?,
        case_manager_id: r.try_get("case_manager_id")?,
        case_manager_name: r.try_get("case_manager_name")?,
        intervention_type: r.try_get("intervention_type")?,
        host_organisation_id: r.try_get("host_organisation_id")?,
        host_name: r.try_get("host_name")?,
        tutor_id: r.try_get("tutor_id")?,
        tutor_name: r.try_get("tutor_name")?,
        planned_start: date(r, "planned_start")?,
        planned_end: date(r, "planned_end")?,
        actual_start: opt_date(r, "actual_start")?,
        actual_end: opt_date(r, "actual_end")?,
        weekly_days: r.try_get("weekly_days")?,
        weekly_hours: r.try_get("weekly_hours")?,
        monthly_amount_cents: r.try_get("monthly_amount_cents")?,
        status: r.try_get("status")?,
        relapse_count: r.try_get("relapse_count")?,
        legal_substance_use: opt_bool(r, "legal_substance_use")?,
        illegal_substance_use: opt_bool(r, "illegal_substance_use")?,
        outcome: r.try_get("outcome")?,
        positive_kind: r.try_get("positive_kind")?,
        interruption_reason: r.try_get("interruption_reason")?,
        interruption_text: r.try_get("interruption_text")?,
        contract_kind: r.try_get("contract_kind")?,
        contract_date: opt_date(r, "contract_date")?,
        contract_employer: r.try_get("contract_employer")?,
        evaluation: r.try_get("evaluation")?,
    })
}

/// The list columns of interventions, names by the scope's rule.
fn summary(scope: &Scope) -> String {
    format!("SELECT i.id, i.person_id, i.organisation_id, p.code AS person_code, {}, pr.name AS programme_name, i.intervention_type, \
    h.name AS host_name, i.status, i.planned_start, i.planned_end, i.actual_start, \
    CAST((SELECT COUNT(*) FROM assessments a WHERE a.intervention_id = i.id AND a.kind = 'pre_intervento') AS BIGINT) AS has_pre, \
    CAST((SELECT COUNT(*) FROM assessments a WHERE a.intervention_id = i.id AND a.kind = 'post_intervento') AS BIGINT) AS has_post \
    FROM interventions i JOIN persons p ON p.id = i.person_id LEFT JOIN person_identities pi ON pi.person_id = i.person_id \
    JOIN programmes pr ON pr.id = i.programme_id JOIN organisations h ON h.id = i.host_organisation_id", scope.names("i.person_id", "pi"))
}

fn map_summary(r: &AnyRow) -> Result<InterventionSummary> {
    Ok(InterventionSummary {
        id: r.try_get("id")?,
        person_id: r.try_get("person_id")?,
        organisation_id: r.try_get("organisation_id")?,
        person_code: r.try_get("person_code")?,
        surname: r.try_get("surname")?,
        name: r.try_get("name")?,
        programme_name: r.try_get("programme_name")?,
        intervention_type: r.try_get("intervention_type")?,
        host_name: r.try_get("host_name")?,
        status: r.try_get("status")?,
        planned_start: date(r, "planned_start")?,
        planned_end: date(r, "planned_end")?,
        actual_start: opt_date(r, "actual_start")?,
        has_pre: r.try_get::<i64, _>("has_pre")? > 0,
        has_post: r.try_get::<i64, _>("has_post")? > 0,
    })
}

impl<M: Mode> Tx<M> {
    /// The person an intervention concerns, for the audit trail only (never shown: whoever
    /// reads an intervention through a narrower view, e.g. its tutor, is still recorded as
    /// having read about that person).
    pub async fn intervention_person_for_audit(&mut self, id: i64) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT person_id FROM interventions WHERE id = $1")
            .bind(id)
            .fetch_optional(self.conn())
            .await?)
    }

    /// An intervention whose person is visible to the scope.
    pub async fn intervention_visible(&mut self, scope: &Scope, id: i64) -> Result<Option<InterventionRow>> {
        let sql = format!(
            "{} WHERE i.id = $4 AND {}",
            select(&scope.person_name("i.person_id")),
            scope.visible("i.person_id")
        );
        let r = scoped(&sql, scope).bind(id).fetch_optional(self.conn()).await?;
        r.as_ref().map(map_row).transpose()
    }

    /// Interventions of a person visible to the scope.
    pub async fn interventions_of_person(
        &mut self,
        scope: &Scope,
        person_id: i64,
        owners: Owners,
    ) -> Result<Vec<InterventionSummary>> {
        let sql = format!(
            "{} WHERE i.person_id = $4 AND {} AND {} ORDER BY i.planned_start DESC",
            summary(scope),
            scope.visible("i.person_id"),
            owners.clause("i.organisation_id")
        );
        let rows = scoped(&sql, scope).bind(person_id).fetch_all(self.conn()).await?;
        rows.iter().map(map_summary).collect()
    }

    /// The organisation's interventions (those whose person it sees), newest first.
    pub async fn interventions_of_organisation(
        &mut self,
        scope: &Scope,
        limit: i64,
    ) -> Result<Vec<InterventionSummary>> {
        let sql = format!(
            "{} WHERE i.organisation_id = $1 AND {} AND {} ORDER BY i.planned_end, i.id LIMIT $4",
            summary(scope),
            scope.visible("i.person_id"),
            crate::restrictions::unrestricted("i.person_id")
        );
        let rows = scoped(&sql, scope).bind(limit).fetch_all(self.conn()).await?;
        rows.iter().map(map_summary).collect()
    }

    const TUTOR: &'static str = "SELECT i.id, p.code AS person_code, pi.surname, pi.name, i.intervention_type, o.name AS organisation_name, \
        cm.display_name AS case_manager_name, h.name AS host_name, i.planned_start, i.planned_end, i.actual_start, i.actual_end, \
        i.weekly_days, i.weekly_hours, i.status FROM interventions i JOIN persons p ON p.id = i.person_id \
        LEFT JOIN person_identities pi ON pi.person_id = i.person_id JOIN organisations o ON o.id = i.organisation_id \
        JOIN users cm ON cm.id = i.case_manager_id JOIN organisations h ON h.id = i.host_organisation_id \
        WHERE i.tutor_id = $1 AND i.host_organisation_id = $2";

    /// Interventions a tutor tutors at their host organisation; `id` narrows to one.
    pub async fn tutored(
        &mut self,
        user_id: i64,
        organisation_id: i64,
        id: Option<i64>,
    ) -> Result<Vec<TutorInterventionRow>> {
        let sql = format!(
            "{} AND ($3 = 0 OR i.id = $3) AND {} ORDER BY i.status, i.planned_start DESC",
            Self::TUTOR,
            crate::restrictions::unrestricted("i.person_id")
        );
        let rows =
            sqlx::query(&sql).bind(user_id).bind(organisation_id).bind(id.unwrap_or(0)).fetch_all(self.conn()).await?;
        rows.iter()
            .map(|r| {
                Ok(TutorInterventionRow {
                    id: r.try_get("id")?,
                    person_code: r.try_get("person_code")?,
                    surname: r.try_get("surname")?,
                    name: r.try_get("name")?,
                    intervention_type: r.try_get("intervention_type")?,
                    organisation_name: r.try_get("organisation_name")?,
                    case_manager_name: r.try_get("case_manager_name")?,
                    host_name: r.try_get("host_name")?,
                    planned_start: date(r, "planned_start")?,
                    planned_end: date(r, "planned_end")?,
                    actual_start: opt_date(r, "actual_start")?,
                    actual_end: opt_date(r, "actual_end")?,
                    weekly_days: r.try_get("weekly_days")?,
                    weekly_hours: r.try_get("weekly_hours")?,
                    status: r.try_get("status")?,
                })
            })
            .collect()
    }

    pub async fn events(&mut self, id: i64) -> Result<Vec<EventRow>> {
        let rows = sqlx::query(
            "SELECT e.transition, e.from_status, e.to_status, e.event_date, e.note, u.display_name AS user_name, e.at \
             FROM intervention_events e JOIN users u ON u.id = e.user_id WHERE e.intervention_id = $1 ORDER BY e.event_date, e.id",
        )
        .bind(id)
        .fetch_all(self.conn())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(EventRow {
                    transition: r.try_get("transition")?,
                    from_status: r.try_get("from_status")?,
                    to_status: r.try_get("to_status")?,
                    event_date: date(r, "event_date")?,
                    note: r.try_get("note")?,
                    user_name: r.try_get("user_name")?,
                    at: r.try_get("at")?,
                })
            })
            .collect()
    }

    pub async fn intervention_money(&mut self, intervention_id: i64) -> Result<InterventionMoney> {
        let r = sqlx::query(
            "SELECT CAST(COALESCE(SUM(CASE WHEN kind = 'commit' THEN amount_cents ELSE 0 END), 0) AS BIGINT) AS committed_total, \
               CAST(COALESCE(SUM(CASE WHEN kind = 'pay' THEN amount_cents ELSE 0 END), 0) AS BIGINT) AS paid, \
               CAST(COALESCE(SUM(CASE WHEN kind = 'release' THEN amount_cents ELSE 0 END), 0) AS BIGINT) AS released \
             FROM ledger_entries WHERE intervention_id = $1",
        )
        .bind(intervention_id)
        .fetch_one(self.conn())
        .await?;
        Ok(InterventionMoney {
            committed_total: r.try_get("committed_total")?,
            paid: r.try_get("paid")?,
            released: r.try_get("released")?,
        })
    }

    /// One organisation's balance in a programme (what an activation or payment checks).
    pub async fn organisation_balance(&mut self, programme_id: i64, organisation_id: i64) -> Result<Balance> {
        let budget = self.participant_budget(programme_id, organisation_id).await?.unwrap_or(0);
        let r = sqlx::query(
            "SELECT committed_cents, paid_cents, released_cents FROM programme_balances \
             WHERE programme_id = $1 AND organisation_id = $2",
        )
        .bind(programme_id)
        .bind(organisation_id)
        .fetch_optional(self.conn())
        .await?;
        let Some(r) = r else { return Ok(Balance { budget, ..Default::default() }) };
        Ok(Balance {
            budget,
            committed_total: r.try_get("committed_cents")?,
            paid: r.try_get("paid_cents")?,
            released: r.try_get("released_cents")?,
        })
    }

    pub async fn payments(&mut self, intervention_id: i64) -> Result<Vec<PaymentRow>> {
        let rows = sqlx::query("SELECT month, amount_cents, at FROM ledger_entries WHERE intervention_id = $1 AND kind = 'pay' ORDER BY month")
            .bind(intervention_id)
            .fetch_all(self.conn())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(PaymentRow {
                    month: r.try_get("month")?,
                    amount_cents: r.try_get("amount_cents")?,
                    at: r.try_get("at")?,
                })
            })
            .collect()
    }

    pub async fn attendance(&mut self, intervention_id: i64) -> Result<Vec<AttendanceRow>> {
        let rows = sqlx::query(
            "SELECT month, days_planned, days_present, note FROM attendance WHERE intervention_id = $1 ORDER BY month",
        )
        .bind(intervention_id)
        .fetch_all(self.conn())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AttendanceRow {
                    month: r.try_get("month")?,
                    days_planned: r.try_get("days_planned")?,
                    days_present: r.try_get("days_present")?,
                    note: r.try_get("note")?,
                })
            })
            .collect()
    }
}

impl Tx<Write> {
    pub async fn insert_intervention(&mut self, i: &InterventionInsert<'_>) -> Result<i64> {
        let n = i.new;
        let id = sqlx::query_scalar(
            "INSERT INTO interventions (programme_id, rule_id, person_id, organisation_id, case_manager_id, intervention_type, host_organisation_id, \
             tutor_id, planned_start, planned_end, weekly_days, weekly_hours, monthly_amount_cents, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'proposto', $14) RETURNING id",
        )
        .bind(n.programme_id)
        .bind(i.rule_id)
        .bind(i.person_id)
        .bind(i.organisation_id)
        .bind(i.case_manager_id)
        .bind(n.intervention_type.code())
        .bind(n.host_organisation_id)
        .bind(n.tutor_id)
        .bind(date_text(n.planned_start))
        .bind(date_text(n.planned_end))
        .bind(n.weekly_days)
        .bind(n.weekly_hours)
        .bind(n.monthly_amount_cents)
        .bind(now())
        .fetch_one(self.conn())
        .await?;
        self.mark_stale(id);
        Ok(id)
    }

    /// Moves the intervention to `status`, optionally setting dates, only from `from`.
    pub async fn set_intervention_status(
        &mut self,
        id: i64,
        from: &str,
        status: &str,
        actual_start: Option<NaiveDate>,
        planned_end: Option<NaiveDate>,
    ) -> Result<()> {
        self.mark_stale(id);
        found(
            sqlx::query(
                "UPDATE interventions SET status = $1, actual_start = COALESCE($2, actual_start), planned_end = COALESCE($3, planned_end) \
                 WHERE id = $4 AND status = $5",
            )
            .bind(status)
            .bind(actual_start.map(date_text))
            .bind(planned_end.map(date_text))
            .bind(id)
            .bind(from)
            .execute(self.conn())
            .await?
            .rows_affected(),
        )
    }

    pub async fn set_monitoring(&mut self, id: i64, m: &Monitoring) -> Result<()> {
        self.mark_stale(id);
        found(
            sqlx::query("UPDATE interventions SET relapse_count = $1, legal_substance_use = $2, illegal_substance_use = $3 WHERE id = $4")
                .bind(m.relapse_count)
                .bind(m.legal_substance_use)
                .bind(m.illegal_substance_use)
                .bind(id)
                .execute(self.conn())
                .await?
                .rows_affected(),
        )
    }

    pub async fn set_conclusion(&mut self, id: i64, from: &str, status: &str, c: &Conclusion) -> Result<()> {
        self.mark_stale(id);
        let (outcome, positive, reason, text) = match &c.outcome {
            Outcome::Positive(k) => ("positivo", Some(k.code()), None, None),
            Outcome::Interrupted { reason, text } => ("interrotto", None, Some(reason.code()), text.clone()),
        };
        found(
            sqlx::query(
                "UPDATE interventions SET status = $1, actual_end = $2, outcome = $3, positive_kind = $4, interruption_reason = $5, interruption_text = $6, \
                 contract_kind = $7, contract_date = $8, contract_employer = $9, evaluation = $10 WHERE id = $11 AND status = $12",
            )
            .bind(status)
            .bind(date_text(c.end_date))
            .bind(outcome)
            .bind(positive)
            .bind(reason)
            .bind(text)
            .bind(c.contract.as_ref().map(|k| k.kind.code()))
            .bind(c.contract.as_ref().map(|k| date_text(k.date)))
            .bind(c.contract.as_ref().map(|k| k.employer.clone()))
            .bind(c.evaluation.code())
            .bind(id)
            .bind(from)
            .execute(self.conn())
            .await?
            .rows_affected(),
        )
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn insert_event(
        &mut self,
        id: i64,
        transition: &str,
        from: Option<&str>,
        to: &str,
        day: NaiveDate,
        note: Option<&str>,
        user_id: i64,
        org_id: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO intervention_events (intervention_id, transition, from_status, to_status, event_date, note, user_id, organisation_id, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id)
        .bind(transition)
        .bind(from)
        .bind(to)
        .bind(date_text(day))
        .bind(note)
        .bind(user_id)
        .bind(org_id)
        .bind(now())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn insert_ledger(
        &mut self,
        programme_id: i64,
        organisation_id: i64,
        intervention_id: i64,
        kind: &str,
        amount: i64,
        month: Option<&str>,
        user_id: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO ledger_entries (programme_id, organisation_id, intervention_id, kind, amount_cents, month, user_id, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(programme_id)
        .bind(organisation_id)
        .bind(intervention_id)
        .bind(kind)
        .bind(amount)
        .bind(month)
        .bind(user_id)
        .bind(now())
        .execute(self.conn())
        .await?;
        // The running totals move with the entry, in the same transaction (the entry's CHECK
        // has already refused any other kind).
        let (committed, paid, released) = match kind {
            "commit" => (amount, 0, 0),
            "pay" => (0, amount, 0),
            _ => (0, 0, amount),
        };
        sqlx::query(
            "INSERT INTO programme_balances (programme_id, organisation_id, committed_cents, paid_cents, released_cents) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (programme_id, organisation_id) DO UPDATE SET \
             committed_cents = programme_balances.committed_cents + excluded.committed_cents, \
             paid_cents = programme_balances.paid_cents + excluded.paid_cents, \
             released_cents = programme_balances.released_cents + excluded.released_cents",
        )
        .bind(programme_id)
        .bind(organisation_id)
        .bind(committed)
        .bind(paid)
        .bind(released)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn upsert_attendance(&mut self, intervention_id: i64, a: &Attendance, user_id: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO attendance (intervention_id, month, days_planned, days_present, note, recorded_by, at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (intervention_id, month) DO UPDATE SET days_planned = excluded.days_planned, days_present = excluded.days_present, \
             note = excluded.note, recorded_by = excluded.recorded_by, at = excluded.at",
        )
        .bind(intervention_id)
        .bind(&a.month)
        .bind(a.days_planned)
        .bind(a.days_present)
        .bind(&a.note)
        .bind(user_id)
        .bind(now())
        .execute(self.conn())
        .await?;
        Ok(())
    }
}
