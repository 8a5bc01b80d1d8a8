//! Percorsi domain: pure types, codes, validation rules and pseudonymisation.
//! No I/O, no async, no SQL: everything here is testable with plain values.

#[macro_use]
mod code_enum;
pub mod access;
pub mod audit;
pub mod codes;
pub mod consent;
pub mod document;
pub mod episode;
pub mod fiscal_code;
pub mod history;
pub mod household;
pub mod instrument;
pub mod intervention;
pub mod ledger;
pub mod money;
pub mod note;
pub mod notification;
pub mod opportunity;
pub mod organisation;
pub mod person;
pub mod programme;
pub mod project;
pub mod pseudonym;
pub mod referral;
pub mod relapse;
pub mod report;
pub mod transfer;
pub mod user;
pub mod validation;

pub use validation::{FieldError, Invalid};
