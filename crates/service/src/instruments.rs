//! Instruments: loading definitions, filling forms, scores.

use crate::audit::{record, record_system};
use crate::policy::{self, Permission};
use crate::Actor;
use crate::{Result, Service, ServiceError};
use percorsi_domain::instrument::{AssessmentKind, Instrument};
use percorsi_domain::Invalid;
use percorsi_store::{Mode, Tx};

/// The forms shipped with the program (see instruments/README.md).
pub const SHIPPED: &[&str] = &[
    include_str!("../../../instruments/scheda_pre_intervento.v1.json"),
    include_str!("../../../instruments/scheda_post_intervento.v1.json"),
    include_str!("../../../instruments/valutazione_multidimensionale.v1.json"),
];

impl Service {
    /// Loads the shipped instruments that the database does not have yet. Run at every start.
    pub async fn ensure_instruments(&self) -> Result<usize> {
        let mut tx = self.store().write().await?;
        let mut loaded = 0;
        for src in SHIPPED {
            let i = Instrument::from_json(src).map_err(|e| ServiceError::Broken(format!("shipped instrument: {e}")))?;
            if tx.insert_instrument(&i.code, i.version, i.kind.code(), src).await?.is_some() {
                loaded += 1;
            }
        }
        if loaded > 0 {
            record_system(&mut tx, "system", None, "create", "instrument", None, "caricamento schede incluse").await?;
        }
        tx.commit().await?;
        Ok(loaded)
    }

    /// Loads an instrument definition (administrator in the UI or API with `actor`, or the CLI
    /// without). A version already loaded is refused: versions are immutable.
    pub async fn load_instrument(&self, actor: Option<&Actor>, src: &str) -> Result<Instrument> {
        if let Some(a) = actor {
            policy::require(a, Permission::ManageInstruments)?;
        }
        let i = Instrument::from_json(src).map_err(|e| {
            Invalid(vec![percorsi_domain::FieldError::new("definition", "err-instrument").arg("value", e)])
        })?;
        let mut tx = self.store().write().await?;
        let Some(id) = tx.insert_instrument(&i.code, i.version, i.kind.code(), src).await? else {
            return Err(Invalid::one("definition", "err-instrument-version-exists").into());
        };
        let reason = format!("caricamento scheda {} v{}", i.code, i.version);
        match actor {
            Some(a) => record(&mut tx, a, "create", "instrument", Some(id), &reason, None).await?,
            None => record_system(&mut tx, "cli", None, "create", "instrument", Some(id.to_string()), &reason).await?,
        }
        tx.commit().await?;
        Ok(i)
    }

    pub async fn list_instruments(&self) -> Result<Vec<(i64, Instrument)>> {
        let mut tx = self.store().read().await?;
        let rows = tx.instruments().await?;
        tx.commit().await?;
        rows.into_iter().map(|r| Ok((r.id, parse(&r.definition)?))).collect()
    }
}

pub(crate) fn parse(definition: &str) -> Result<Instrument> {
    Instrument::from_json(definition).map_err(|e| ServiceError::Broken(format!("stored instrument: {e}")))
}

/// The newest instrument for a kind of form.
pub(crate) async fn latest<M: Mode>(tx: &mut Tx<M>, kind: AssessmentKind) -> Result<(i64, Instrument)> {
    let rec = tx.latest_instrument(kind.code()).await?.ok_or(ServiceError::Conflict("err-no-instrument"))?;
    Ok((rec.id, parse(&rec.definition)?))
}

pub(crate) async fn by_id<M: Mode>(tx: &mut Tx<M>, id: i64) -> Result<Instrument> {
    let rec = tx.instrument(id).await?.ok_or(ServiceError::NotFound)?;
    parse(&rec.definition)
}
