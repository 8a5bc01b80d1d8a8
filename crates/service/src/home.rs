//! What each role acts on today, for its home page: decided by permissions (never by role
//! name), each part read only for those who may act on it.

use crate::interventions::{due_items, DueItem};
use crate::policy::{allows, Permission};
use crate::{today, Actor, Result, Service};
use serde::Serialize;

/// A programme's money at a glance. Money is public accountability and shown exactly.
#[derive(Debug, Clone, Serialize)]
pub struct ProgrammeMoney {
    pub id: i64,
    pub name: String,
    pub funding_source: Option<String>,
    pub budget: i64,
    /// Committed and not yet paid.
    pub outstanding: i64,
    pub paid: i64,
    pub available: i64,
    /// Share of the budget committed or paid, 0–100 (for the bar).
    pub used_percent: i64,
}

/// The parts of a home page; `None` where the actor's role has nothing to act on there.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RoleHome {
    /// Programmes with their budgets (those who read reports: coordinators, analysts).
    pub programmes: Option<Vec<ProgrammeMoney>>,
    /// Referrals received and not yet decided.
    pub referrals_waiting: Option<i64>,
    /// Cases transferred to the organisation waiting for acceptance.
    pub transfers_waiting: Option<i64>,
    /// Notifications not yet read.
    pub unread_notifications: Option<i64>,
    /// The organisation's interventions that need something (ending, late, forms to fill), for
    /// those who oversee them without managing them (coordinators).
    pub organisation_due: Option<Vec<DueItem>>,
    /// Emergency openings not yet reviewed (auditors).
    pub glass_to_review: Option<i64>,
    /// Organisations and accounts (administrators).
    pub totals: Option<Vec<(&'static str, i64)>>,
}

impl Service {
    pub async fn role_home(&self, actor: &Actor) -> Result<RoleHome> {
        let can = |p| allows(actor.role, p);
        let mut home = RoleHome::default();
        let mut tx = self.store().read().await?;
        if can(Permission::ViewReports) {
            let mut list = Vec::new();
            for p in tx.programmes().await? {
                let b = tx.programme_total(p.id).await?;
                let used = b.budget - b.available();
                list.push(ProgrammeMoney {
                    id: p.id,
                    name: p.name,
                    funding_source: p.funding_source,
                    budget: b.budget,
                    outstanding: b.outstanding(),
                    paid: b.paid,
                    available: b.available(),
                    used_percent: if b.budget > 0 { (used * 100 / b.budget).clamp(0, 100) } else { 0 },
                });
            }
            home.programmes = Some(list);
        }
        if can(Permission::ReadNotifications) {
            let (unread, open) = tx.waiting(actor.organisation_id).await?;
            home.unread_notifications = Some(unread);
            if can(Permission::ViewPersons) {
                home.referrals_waiting = Some(open);
            }
        }
        if can(Permission::TransferCases) {
            home.transfers_waiting = Some(tx.transfers_waiting(actor.organisation_id).await?);
        }
        if can(Permission::ViewAudit) {
            home.glass_to_review = Some(tx.glass_unreviewed().await?);
        }
        if can(Permission::ManageUsers) {
            home.totals = Some(tx.account_totals().await?);
        }
        tx.commit().await?;
        if can(Permission::ViewPersons) && can(Permission::ViewProgrammes) && !can(Permission::ManageInterventions) {
            let rows = self.organisation_interventions(actor).await?;
            home.organisation_due = Some(due_items(rows, today()));
        }
        Ok(home)
    }
}
