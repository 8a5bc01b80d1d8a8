//! The multidimensional assessment of a person (four axes, the user class of seed 004 as its
//! outcome), the network's coordination groups with their meetings, and the network dashboard
//! for coordinators — aggregated, with small cells suppressed for organisations other than
//! their own.

use crate::audit::record;
use crate::instruments;
use crate::policy::{self, Permission};
use crate::{Actor, Result, Service, ServiceError};
use percorsi_domain::codes::UserClass;
use percorsi_domain::consent::DataCategory;
use percorsi_domain::household::{parse_household, Household};
use percorsi_domain::instrument::{AssessmentKind, Instrument, SectionScore};
use percorsi_domain::report::{Grid, Label, Line, Percent, Role};
use percorsi_domain::validation::Checker;
use percorsi_domain::Invalid;
use percorsi_store::{AssessmentInsert, GroupRow, MeetingRow, NetworkCounts};
use serde::Serialize;
use std::collections::BTreeMap;

/// One assessment as the pathway shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AssessmentView {
    pub assessed_on: chrono::NaiveDate,
    pub user_class: String,
    pub organisation_name: String,
    pub author_name: String,
    pub scores: Vec<SectionScore>,
    pub household: Option<Household>,
}

/// The network dashboard: every organisation's line, suppressed, plus the viewer's own exact.
#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    pub grid: Grid,
    /// Objectives of projects in force and placements in progress, by axis.
    pub axes: Grid,
    /// Reintegration outcomes: objectives of every project by axis and last reported status.
    pub objectives: Grid,
    /// Placements by axis still going on (or ended later) 6 and 12 months after they began:
    /// housing kept, work kept.
    pub kept: Vec<Grid>,
    /// People in care by user class, and how many of them have project objectives on each axis.
    pub classes: Grid,
    pub own: Option<NetworkCounts>,
    /// Average days the viewer's open referrals have been waiting.
    pub own_average_wait: Option<i64>,
}

impl Service {
    /// The form to fill: the current multidimensional assessment instrument.
    pub async fn assessment_instrument(&self) -> Result<Instrument> {
        let mut tx = self.store().read().await?;
        let (_, i) = instruments::latest(&mut tx, AssessmentKind::ValutazioneMultidimensionale).await?;
        tx.commit().await?;
        Ok(i)
    }

    /// Records an assessment by the team: answers on the four axes and the user class.
    pub async fn assess_person(&self, actor: &Actor, person_id: i64, raw: &BTreeMap<String, String>) -> Result<i64> {
        policy::require(actor, Permission::ManageProjects)?;
        let mut c = Checker::new();
        let day = c.required_date("assessed_on", raw.get("assessed_on").map(String::as_str).unwrap_or(""));
        if day.is_some_and(|d| d > crate::today()) {
            c.fail("assessed_on", "err-date-in-future");
        }
        let class =
            c.required_code("user_class", raw.get("user_class").map(String::as_str).unwrap_or(""), UserClass::parse);
        let mut tx = self.store().write().await?;
        tx.person_visible(&actor.scope(), person_id).await?.ok_or(ServiceError::NotFound)?;
        let (instrument_id, instrument) =
            instruments::latest(&mut tx, AssessmentKind::ValutazioneMultidimensionale).await?;
        let household = parse_household(raw, &mut c);
        let mut items = raw.clone();
        items.retain(|k, _| k != "assessed_on" && k != "user_class" && !k.starts_with("household_"));
        let answers = match (instrument.parse_answers(&items, |_| true), c.finish(|| ())) {
            (Ok(a), Ok(())) => a,
            (Err(mut a), Err(b)) => {
                a.0.extend(b.0);
                return Err(a.into());
            }
            (Err(a), _) | (_, Err(a)) => return Err(a.into()),
        };
        let (Some(day), Some(class)) = (day, class) else {
            return Err(Invalid::one("assessed_on", "err-required").into());
        };
        let scores = instrument.score(&answers);
        let id = tx
            .insert_person_assessment(&AssessmentInsert {
                person_id,
                organisation_id: actor.organisation_id,
                instrument_id,
                assessed_on: day,
                answers: &crate::to_json(&answers)?,
                scores: &crate::to_json(&scores)?,
                user_class: class.code(),
                author_id: actor.user_id,
                household: household.as_ref().map(crate::to_json).transpose()?.as_deref(),
            })
            .await?;
        record(
            &mut tx,
            actor,
            "create",
            "person_assessment",
            Some(person_id),
            "valutazione multidimensionale",
            Some(class.code().into()),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// A person's assessments, oldest first, to show the change over time.
    pub async fn person_assessments(&self, actor: &Actor, person_id: i64) -> Result<Vec<AssessmentView>> {
        let mut tx = self.store().read().await?;
        let access = policy::person_access(&mut tx, actor, person_id).await?;
        let rows = tx.person_assessments(person_id, access.owners(DataCategory::Assessments)).await?;
        tx.commit().await?;
        self.record_person_read(actor, person_id, "assessment_list", None, "valutazioni della persona").await?;
        rows.into_iter()
            .map(|r| {
                Ok(AssessmentView {
                    assessed_on: r.assessed_on,
                    user_class: r.user_class,
                    organisation_name: r.organisation_name,
                    author_name: r.author_name,
                    scores: serde_json::from_str(&r.scores)
                        .map_err(|e| ServiceError::Broken(format!("stored scores: {e}")))?,
                    household: r
                        .household
                        .as_deref()
                        .map(serde_json::from_str)
                        .transpose()
                        .map_err(|e| ServiceError::Broken(format!("stored household: {e}")))?,
                })
            })
            .collect()
    }

    pub async fn create_group(&self, actor: &Actor, name: &str, territory: &str, members: &[i64]) -> Result<i64> {
        policy::require(actor, Permission::ManageProgrammes)?;
        let mut c = Checker::new();
        let name = c.required_text("name", name, 160);
        let territory = c.optional_text("territory", Some(territory), 80);
        if members.len() < 2 {
            c.fail("members", "err-group-needs-members");
        }
        c.finish(|| ())?;
        let mut tx = self.store().write().await?;
        for m in members {
            if tx.organisation(*m).await?.is_none() {
                return Err(Invalid::one("members", "err-unknown-choice").into());
            }
        }
        let mut all = members.to_vec();
        if !all.contains(&actor.organisation_id) {
            all.push(actor.organisation_id);
        }
        all.sort();
        all.dedup();
        let id = tx.insert_group(&name, territory.as_deref(), &all, actor.user_id).await.map_err(|e| match e {
            percorsi_store::StoreError::Duplicate => ServiceError::Invalid(Invalid::one("name", "err-duplicate-name")),
            e => e.into(),
        })?;
        record(&mut tx, actor, "create", "coordination_group", Some(id), "gruppo di coordinamento", Some(name)).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The coordination groups; the minutes of a group's meetings only to its member
    /// organisations (minutes speak of people and organisations: they are not the network's).
    /// `None` in place of the meetings means the actor's organisation is not a member.
    pub async fn groups(&self, actor: &Actor) -> Result<Vec<(GroupRow, Option<Vec<MeetingRow>>)>> {
        policy::require(actor, Permission::ViewProgrammes)?;
        let mut tx = self.store().read().await?;
        let mut out = Vec::new();
        for g in tx.groups().await? {
            let m = if tx.is_group_member(g.id, actor.organisation_id).await? {
                Some(tx.meetings(g.id).await?)
            } else {
                None
            };
            out.push((g, m));
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Minutes of a meeting, written by a coordinator of a member organisation.
    pub async fn add_meeting(&self, actor: &Actor, group: i64, day: &str, minutes: &str) -> Result<i64> {
        policy::require(actor, Permission::ManageProgrammes)?;
        let mut c = Checker::new();
        let day = c.required_date("meeting_date", day);
        let minutes = c.required_text("minutes", minutes, 20_000);
        c.finish(|| ())?;
        let mut tx = self.store().write().await?;
        if !tx.is_group_member(group, actor.organisation_id).await? {
            return Err(ServiceError::Forbidden);
        }
        let id = tx.insert_meeting(group, day.unwrap_or_else(crate::today), &minutes, actor.user_id).await?;
        record(&mut tx, actor, "create", "group_meeting", Some(group), "verbale di incontro", None).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The network dashboard (coordinators and analysts): counts per organisation with small
    /// cells suppressed; a coordinator also gets their own organisation's exact line.
    pub async fn dashboard(&self, actor: &Actor) -> Result<Dashboard> {
        policy::require(actor, Permission::ViewReports)?;
        let mut tx = self.store().read().await?;
        let counts = tx.network_counts(crate::today()).await?;
        let (contents, placement_axes) = tx.supports_by_axis(crate::today()).await?;
        let plans = tx.plans_with_progress().await?;
        let spans = tx.placement_spans().await?;
        let people = tx.people_in_care_with_plans(crate::today()).await?;
        let orgs: BTreeMap<i64, String> = tx.organisations().await?.into_iter().map(|o| (o.id, o.name)).collect();
        tx.commit().await?;
        let cols = [
            ("in_carico", "dashboard-in-care"),
            ("progetti", "dashboard-projects"),
            ("segnalazioni", "dashboard-referrals"),
            ("inserimenti", "dashboard-placements"),
        ];
        let mut rows: Vec<Line> = counts
            .iter()
            .map(|c| {
                Line::new(
                    format!("org-{}", c.organisation_id),
                    Label::text(orgs.get(&c.organisation_id).cloned().unwrap_or_default()),
                    Role::Category,
                )
            })
            .collect();
        rows.push(Line::new("totale", Label::msg("report-total"), Role::Total));
        let columns = cols.iter().map(|(code, msg)| Line::new(*code, Label::msg(*msg), Role::Category)).collect();
        let mut g = Grid::new(None, Label::msg("report-organisation"), rows, columns, Percent::None);
        for (r, c) in counts.iter().enumerate() {
            for (k, v) in [c.in_care, c.active_projects, c.open_referrals, c.active_placements].into_iter().enumerate()
            {
                g.add(r, k, v.max(0) as u64);
            }
        }
        let protection = self.protection();
        let grid = g.finish().protect(protection);
        let axes = axes_grid(&contents, &placement_axes)?.protect(protection);
        let objectives = objectives_grid(&plans)?.protect(protection);
        let kept = [6, 12].map(|months| kept_grid(&spans, months, crate::today()).protect(protection)).to_vec();
        let own = policy::allows(actor.role, Permission::OwnExactFigures)
            .then(|| counts.iter().find(|c| c.organisation_id == actor.organisation_id).cloned())
            .flatten();
        let own_average_wait = own.as_ref().filter(|o| o.open_referrals > 0).map(|o| o.waiting_days / o.open_referrals);
        let classes = classes_grid(&people)?.protect(protection);
        Ok(Dashboard { grid, axes, objectives, kept, classes, own, own_average_wait })
    }
}

/// Supports by axis: objectives in the projects in force and placements in progress.
fn axes_grid(contents: &[String], placements: &[String]) -> Result<Grid> {
    use percorsi_domain::project::Axis;
    let rows = axis_rows();
    let cols = vec![
        Line::new("obiettivi", Label::msg("dashboard-objectives"), Role::Category),
        Line::new("inserimenti", Label::msg("dashboard-placements"), Role::Category),
    ];
    let mut g = Grid::new(None, Label::msg("field-axis"), rows, cols, Percent::None);
    let at = |a: Axis| Axis::ALL.iter().position(|x| *x == a).unwrap_or(0);
    for c in contents {
        let plan = crate::projects::plan_of(c)?;
        for o in &plan.objectives {
            g.add(at(o.axis), 0, 1);
        }
    }
    for p in placements {
        if let Some(a) = Axis::parse(p) {
            g.add(at(a), 1, 1);
        }
    }
    Ok(g.finish())
}

fn axis_rows() -> Vec<Line> {
    use percorsi_domain::project::Axis;
    let mut rows: Vec<Line> = Axis::ALL
        .iter()
        .map(|a| Line::new(a.code(), Label::msg(format!("code-axis-{}", a.code())), Role::Category))
        .collect();
    rows.push(Line::new("totale", Label::msg("report-total"), Role::Total));
    rows
}

/// Objectives of every project (its current version) by axis and the status last reported on
/// them ("non rilevato" when none was).
fn objectives_grid(plans: &[(String, Vec<(i64, String)>)]) -> Result<Grid> {
    use percorsi_domain::project::{Axis, ProgressStatus};
    let mut cols: Vec<Line> = ProgressStatus::ALL
        .iter()
        .map(|s| Line::new(s.code(), Label::msg(format!("code-progress_status-{}", s.code())), Role::Category))
        .collect();
    cols.push(Line::new("non_rilevato", Label::msg("dashboard-not-reported"), Role::Missing));
    cols.push(Line::new("totale", Label::msg("report-total"), Role::Total));
    let mut g = Grid::new(None, Label::msg("field-axis"), axis_rows(), cols, Percent::OfRow);
    let unreported = ProgressStatus::ALL.len();
    for (content, reported) in plans {
        let plan = crate::projects::plan_of(content)?;
        for (i, o) in plan.objectives.iter().enumerate() {
            let r = Axis::ALL.iter().position(|a| *a == o.axis).unwrap_or(0);
            let status = reported.iter().find(|(n, _)| *n == i as i64).and_then(|(_, s)| ProgressStatus::parse(s));
            let c = status.and_then(|s| ProgressStatus::ALL.iter().position(|x| *x == s)).unwrap_or(unreported);
            g.add(r, c, 1);
        }
    }
    Ok(g.finish())
}

/// Placements that began at least `months` ago, by axis: still going on at that point (kept)
/// or ended before it (exact; the dashboard protects it).
fn kept_grid(
    spans: &[(String, chrono::NaiveDate, Option<chrono::NaiveDate>)],
    months: u32,
    today: chrono::NaiveDate,
) -> Grid {
    use percorsi_domain::project::Axis;
    let cols = vec![
        Line::new(format!("mantenuto_{months}"), Label::msg("dashboard-kept"), Role::Category),
        Line::new(format!("concluso_prima_{months}"), Label::msg("dashboard-ended-before"), Role::Category),
        Line::new(format!("totale_{months}"), Label::msg("report-total"), Role::Total),
    ];
    let title = Label::msg(format!("dashboard-kept-{months}"));
    let mut g = Grid::new(Some(title), Label::msg("field-axis"), axis_rows(), cols, Percent::OfRow);
    for (axis, start, end) in spans {
        let Some(mark) = start.checked_add_months(chrono::Months::new(months)).filter(|m| *m <= today) else {
            continue;
        };
        let r = Axis::parse(axis).and_then(|a| Axis::ALL.iter().position(|x| *x == a)).unwrap_or(0);
        let kept = end.is_none_or(|e| e >= mark);
        g.add(r, if kept { 0 } else { 1 }, 1);
    }
    g.finish()
}

/// People in care by user class (rows), with how many of them have objectives on each axis in
/// a project in force. The axis columns overlap (one person, several axes), so the grid has no
/// row total: only the column sums, over classes, which do add up.
fn classes_grid(people: &[(Option<String>, Vec<String>)]) -> Result<Grid> {
    use percorsi_domain::project::Axis;
    let mut rows: Vec<Line> = UserClass::ALL
        .iter()
        .map(|c| Line::new(c.code(), Label::msg(format!("code-user_class-{}", c.code())), Role::Category))
        .collect();
    rows.push(Line::new("mancante", Label::msg("report-missing"), Role::Missing));
    rows.push(Line::new("totale", Label::msg("report-total"), Role::Total));
    let mut cols = vec![Line::new("in_carico", Label::msg("dashboard-in-care"), Role::Category)];
    cols.extend(
        Axis::ALL.iter().map(|a| Line::new(a.code(), Label::msg(format!("code-axis-{}", a.code())), Role::Category)),
    );
    let mut g = Grid::new(None, Label::msg("field-user_class"), rows, cols, Percent::None);
    for (class, plans) in people {
        let r = class
            .as_deref()
            .and_then(UserClass::parse)
            .and_then(|c| UserClass::ALL.iter().position(|x| *x == c))
            .unwrap_or(UserClass::ALL.len());
        g.add(r, 0, 1);
        let mut axes = std::collections::BTreeSet::new();
        for content in plans {
            let plan = crate::projects::plan_of(content)?;
            axes.extend(plan.objectives.iter().map(|o| o.axis));
        }
        for a in axes {
            g.add(r, 1 + Axis::ALL.iter().position(|x| *x == a).unwrap_or(0), 1);
        }
    }
    Ok(g.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    #[test]
    fn placements_are_kept_when_they_go_on_past_the_mark() {
        let today = day(2026, 11, 26);
        let spans = vec![
            ("casa_habitat".to_string(), day(2025, 1, 10), None), // kept at 6 and 12
            ("casa_habitat".to_string(), day(2025, 1, 10), Some(day(2025, 5, 1))), // ended before 6
            ("casa_habitat".to_string(), day(2025, 1, 10), Some(day(2025, 9, 1))), // kept at 6, not 12
            ("formazione_lavoro".to_string(), day(2026, 9, 1), None), // too recent for both
            ("formazione_lavoro".to_string(), day(2026, 3, 1), Some(day(2026, 9, 1))), // kept at 6; too recent for 12
        ];
        let six = kept_grid(&spans, 6, today);
        assert_eq!((six.count(0, 0), six.count(0, 1), six.count(0, 2)), (2, 1, 3));
        assert_eq!((six.count(1, 0), six.count(1, 1)), (1, 0));
        let twelve = kept_grid(&spans, 12, today);
        assert_eq!((twelve.count(0, 0), twelve.count(0, 1)), (1, 2));
        assert_eq!(twelve.count(1, 2), 0);
    }

    #[test]
    fn people_are_counted_once_per_axis_whatever_their_objectives() {
        let plan = |axes: &[&str]| {
            let objectives: Vec<serde_json::Value> = axes
                .iter()
                .map(|a| serde_json::json!({"axis": a, "title": "t", "expected_results": "x", "supports": [], "responsible_organisation_id": 1}))
                .collect();
            serde_json::json!({"start": "2026-01-01", "end": "2026-12-31", "next_review": "2026-06-01", "budget": {}, "objectives": objectives}).to_string()
        };
        let people = vec![
            (Some("prevenzione".to_string()), vec![plan(&["casa_habitat", "casa_habitat", "salute_cura"])]),
            (Some("prevenzione".to_string()), vec![]),
            (None, vec![plan(&["casa_habitat"])]),
        ];
        let g = classes_grid(&people).expect("grid");
        let total = g.rows.len() - 1;
        assert_eq!(
            (g.count(0, 0), g.count(0, 1), g.count(0, 4)),
            (2, 1, 1),
            "prevenzione: 2 people, 1 on casa, 1 on salute"
        );
        assert_eq!((g.count(total - 1, 0), g.count(total - 1, 1)), (1, 1), "unknown class");
        assert_eq!((g.count(total, 0), g.count(total, 1)), (3, 2));
    }

    #[test]
    fn objectives_take_their_last_reported_status() {
        let plan = serde_json::json!({
            "start": "2026-01-01", "end": "2026-12-31", "next_review": "2026-06-01", "budget": {},
            "objectives": [
                {"axis": "casa_habitat", "title": "casa", "expected_results": "x", "supports": [], "responsible_organisation_id": 1},
                {"axis": "formazione_lavoro", "title": "lavoro", "expected_results": "y", "supports": [], "responsible_organisation_id": 1}
            ]
        })
        .to_string();
        let g = objectives_grid(&[(plan, vec![(0, "raggiunto".into())])]).expect("grid");
        let raggiunto = 3;
        assert_eq!(g.count(0, raggiunto), 1, "casa reached");
        assert_eq!(g.count(1, 4), 1, "lavoro never reported");
    }
}
