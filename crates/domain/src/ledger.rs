//! The budget ledger's arithmetic. Activating an intervention commits its planned cost;
//! payments (erogazioni) draw on the commitment; an early end releases what was not paid, which
//! becomes available for other people. For every organisation and for the programme:
//! outstanding commitments + paid + available = budget, always.

use crate::validation::{FieldError, Invalid};
use serde::Serialize;
use std::collections::BTreeMap;

/// Totals for a budget holder (an organisation in a programme, or the whole programme), built
/// from ledger entries. All amounts are cents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Balance {
    pub budget: i64,
    /// Sum of all commitments ever made (activations and prolongations).
    pub committed_total: i64,
    pub paid: i64,
    /// Sum of commitments released by early ends.
    pub released: i64,
}

impl Balance {
    /// Committed and not yet paid nor released.
    pub fn outstanding(&self) -> i64 {
        self.committed_total - self.paid - self.released
    }

    pub fn available(&self) -> i64 {
        self.budget - self.committed_total + self.released
    }

    /// The invariant, written out so that tests and the programme page can show it.
    pub fn balances(&self) -> bool {
        self.outstanding() + self.paid + self.available() == self.budget
            && self.outstanding() >= 0
            && self.available() >= 0
            && self.paid >= 0
    }

    pub fn add(&mut self, other: &Balance) {
        self.budget += other.budget;
        self.committed_total += other.committed_total;
        self.paid += other.paid;
        self.released += other.released;
    }

    /// Refuses a commitment larger than what is available.
    pub fn check_commit(&self, amount: i64) -> Result<(), Invalid> {
        if amount > self.available() {
            return Err(Invalid(vec![FieldError::new("budget", "err-overspend")
                .arg("available", crate::money::format_euros(self.available()))
                .arg("needed", crate::money::format_euros(amount))]));
        }
        Ok(())
    }
}

/// One intervention's money.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct InterventionMoney {
    pub committed_total: i64,
    pub paid: i64,
    pub released: i64,
}

impl InterventionMoney {
    pub fn outstanding(&self) -> i64 {
        self.committed_total - self.paid - self.released
    }

    /// A payment may not exceed what is still committed to the intervention.
    pub fn check_payment(&self, amount: i64) -> Result<(), Invalid> {
        if amount > self.outstanding() {
            return Err(Invalid(vec![FieldError::new("amount", "err-payment-exceeds")
                .arg("outstanding", crate::money::format_euros(self.outstanding()))]));
        }
        Ok(())
    }
}

/// A complete in-memory ledger: the specification the stored ledger is tested against.
#[derive(Debug, Clone, Default)]
pub struct Model {
    pub budgets: BTreeMap<i64, i64>,
    pub interventions: BTreeMap<i64, (i64, InterventionMoney)>,
}

impl Model {
    pub fn balance(&self, org: i64) -> Balance {
        let mut b = Balance { budget: self.budgets.get(&org).copied().unwrap_or(0), ..Default::default() };
        for (o, m) in self.interventions.values() {
            if *o == org {
                b.committed_total += m.committed_total;
                b.paid += m.paid;
                b.released += m.released;
            }
        }
        b
    }

    pub fn total(&self) -> Balance {
        let mut t = Balance::default();
        for org in self.budgets.keys() {
            t.add(&self.balance(*org));
        }
        t
    }

    pub fn commit(&mut self, org: i64, intervention: i64, amount: i64) -> Result<(), Invalid> {
        self.balance(org).check_commit(amount)?;
        let entry = self.interventions.entry(intervention).or_insert((org, InterventionMoney::default()));
        entry.1.committed_total += amount;
        Ok(())
    }

    pub fn pay(&mut self, intervention: i64, amount: i64) -> Result<(), Invalid> {
        let Some((_, m)) = self.interventions.get_mut(&intervention) else {
            return Err(Invalid::one("amount", "err-payment-exceeds"));
        };
        m.check_payment(amount)?;
        m.paid += amount;
        Ok(())
    }

    /// Ends an intervention early: whatever is still committed is released.
    pub fn release(&mut self, intervention: i64) -> i64 {
        match self.interventions.get_mut(&intervention) {
            Some((_, m)) => {
                let free = m.outstanding();
                m.released += free;
                free
            }
            None => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_pay_release_keeps_the_invariant() {
        let mut m = Model::default();
        m.budgets.insert(1, 500_000);
        m.commit(1, 10, 180_000).unwrap();
        m.commit(1, 11, 240_000).unwrap();
        assert_eq!(m.balance(1).available(), 80_000);
        let err = m.commit(1, 12, 90_000).unwrap_err();
        assert_eq!(err.0[0].key, "err-overspend");
        m.pay(10, 30_000).unwrap();
        m.pay(10, 30_000).unwrap();
        assert_eq!(m.release(10), 120_000, "early end frees the unpaid rest");
        let b = m.balance(1);
        assert_eq!((b.outstanding(), b.paid, b.available()), (240_000, 60_000, 200_000));
        assert!(b.balances());
        m.commit(1, 12, 90_000).expect("freed money is reused for someone else");
        assert!(m.balance(1).balances());
        assert_eq!(
            m.pay(10, 1).unwrap_err().0[0].key,
            "err-payment-exceeds",
            "nothing left to pay on an ended intervention"
        );
    }

    #[test]
    fn programme_total_is_the_sum_of_organisations() {
        let mut m = Model::default();
        m.budgets.insert(1, 100_000);
        m.budgets.insert(2, 50_000);
        m.commit(1, 1, 60_000).unwrap();
        m.commit(2, 2, 50_000).unwrap();
        m.pay(2, 10_000).unwrap();
        let t = m.total();
        assert_eq!(t.budget, 150_000);
        assert_eq!(t.available(), 40_000);
        assert!(t.balances());
    }
}
