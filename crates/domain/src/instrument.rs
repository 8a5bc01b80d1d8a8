//! Instruments (schede) are versioned data: sections, items and ordered options whose scores
//! grow with the positivity of the answer. A section's score is the sum over its items; scored
//! sections fall into `basso/medio/alto` by the cut points in the definition; personal autonomy
//! is compared pre vs post by a threshold in the definition. A missing answer makes a section
//! incomplete: it never counts as zero.

use crate::validation::{FieldError, Invalid};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

code_enum!(
    AssessmentKind {
        PreIntervento => "pre_intervento",
        PostIntervento => "post_intervento",
        ValutazioneMultidimensionale => "valutazione_multidimensionale",
        FollowUp => "follow_up",
    }
);

code_enum!(
    Band {
        Basso => "basso",
        Medio => "medio",
        Alto => "alto",
    }
);

code_enum!(
    AutonomyChange {
        Miglioramento => "miglioramento",
        NessunaVariazione => "nessuna_variazione",
        Peggioramento => "peggioramento",
    }
);

/// Text in both interface languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Text {
    pub it: String,
    pub en: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scoring {
    /// Descriptive items: answers are kept, no score.
    #[default]
    None,
    /// Sum of scores, divided into basso/medio/alto.
    Bands,
    /// Sum of scores compared between the pre and the post form.
    Autonomy,
}

/// Cut points: a score `>= medio_from` is medio, `>= alto_from` is alto, otherwise basso.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Bands {
    pub medio_from: i64,
    pub alto_from: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Opt {
    pub score: i64,
    pub label: Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Item {
    pub code: String,
    pub text: Text,
    pub options: Vec<Opt>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Section {
    pub code: String,
    pub title: Text,
    #[serde(default)]
    pub scoring: Scoring,
    #[serde(default)]
    pub bands: Option<Bands>,
    /// Observations the company tutor may read and record (never health or substance data).
    #[serde(default)]
    pub tutor: bool,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Instrument {
    pub code: String,
    pub version: i64,
    pub kind: AssessmentKind,
    pub title: Text,
    /// Minimum difference between post and pre autonomy scores that counts as a change.
    #[serde(default)]
    pub autonomy_threshold: Option<i64>,
    pub sections: Vec<Section>,
}

/// Equal-width bands over a section's possible range (the protocol's default cut points).
pub fn equal_bands(min: i64, max: i64) -> Bands {
    let width = (max - min) as f64 / 3.0;
    Bands { medio_from: min + width.ceil() as i64, alto_from: min + (2.0 * width).ceil() as i64 }
}

impl Section {
    /// The lowest and highest possible sums.
    pub fn range(&self) -> (i64, i64) {
        let min = self.items.iter().map(|i| i.options.iter().map(|o| o.score).min().unwrap_or(0)).sum();
        let max = self.items.iter().map(|i| i.options.iter().map(|o| o.score).max().unwrap_or(0)).sum();
        (min, max)
    }

    pub fn band(&self, score: i64) -> Option<Band> {
        let b = self.bands?;
        Some(if score >= b.alto_from {
            Band::Alto
        } else if score >= b.medio_from {
            Band::Medio
        } else {
            Band::Basso
        })
    }
}

impl Instrument {
    /// Parses and checks a definition file; every problem is reported, with where it is.
    pub fn from_json(src: &str) -> Result<Instrument, String> {
        let i: Instrument = serde_json::from_str(src).map_err(|e| format!("not a valid instrument definition: {e}"))?;
        i.check()?;
        Ok(i)
    }

    pub fn check(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        if self.code.trim().is_empty() || self.version < 1 {
            problems.push("code must be set and version must be 1 or more".to_string());
        }
        let mut sections = HashSet::new();
        let mut items = HashSet::new();
        for s in &self.sections {
            if !sections.insert(&s.code) {
                problems.push(format!("section {}: duplicate code", s.code));
            }
            if s.items.is_empty() {
                problems.push(format!("section {}: no items", s.code));
            }
            for it in &s.items {
                if !items.insert(&it.code) {
                    problems.push(format!("item {}: duplicate code", it.code));
                }
                if it.options.len() < 2 {
                    problems.push(format!("item {}: needs at least two options", it.code));
                }
                if it.options.windows(2).any(|w| w[1].score <= w[0].score) {
                    problems
                        .push(format!("item {}: option scores must grow with the positivity of the answer", it.code));
                }
            }
            let (min, max) = s.range();
            match (s.scoring, s.bands) {
                (Scoring::Bands, None) => {
                    problems.push(format!("section {}: scored in bands but has no cut points", s.code))
                }
                (Scoring::Bands, Some(b))
                    if !(min < b.medio_from && b.medio_from < b.alto_from && b.alto_from <= max) =>
                {
                    problems.push(format!(
                        "section {}: cut points {}/{} outside the range {min}–{max}",
                        s.code, b.medio_from, b.alto_from
                    ))
                }
                (Scoring::Autonomy, _) if self.autonomy_threshold.is_none_or(|t| t < 1) => {
                    problems.push(format!("section {}: autonomy needs autonomy_threshold ≥ 1", s.code))
                }
                _ => {}
            }
            if s.tutor && s.scoring == Scoring::Autonomy {
                problems.push(format!("section {}: personal autonomy is not shared with tutors", s.code));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    pub fn section_of(&self, item_code: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.items.iter().any(|i| i.code == item_code))
    }

    /// Validates submitted answers (item code → chosen score). Blank answers are simply absent.
    /// `may_fill` says which sections the author may answer (tutors: only `tutor` sections).
    pub fn parse_answers(
        &self,
        raw: &BTreeMap<String, String>,
        may_fill: impl Fn(&Section) -> bool,
    ) -> Result<Answers, Invalid> {
        let mut errors = Vec::new();
        let mut answers = BTreeMap::new();
        for (code, value) in raw {
            let v = value.trim();
            if v.is_empty() {
                continue;
            }
            let Some(section) = self.section_of(code) else {
                errors.push(FieldError::new("answers", "err-unknown-item").arg("value", code.clone()));
                continue;
            };
            if !may_fill(section) {
                errors.push(FieldError::new("answers", "err-section-not-allowed").arg("value", section.code.clone()));
                continue;
            }
            let item = section.items.iter().find(|i| i.code == *code).expect("section_of found it");
            match v.parse::<i64>().ok().filter(|s| item.options.iter().any(|o| o.score == *s)) {
                Some(s) => {
                    answers.insert(code.clone(), s);
                }
                None => errors
                    .push(FieldError::new("answers", "err-unknown-option").arg("item", code.clone()).arg("value", v)),
            }
        }
        if errors.is_empty() {
            Ok(answers)
        } else {
            Err(Invalid(errors))
        }
    }

    pub fn score(&self, answers: &Answers) -> Vec<SectionScore> {
        self.sections
            .iter()
            .map(|s| {
                let answered: Vec<i64> = s.items.iter().filter_map(|i| answers.get(&i.code).copied()).collect();
                let complete = answered.len() == s.items.len();
                let score = (complete && s.scoring != Scoring::None).then(|| answered.iter().sum::<i64>());
                SectionScore {
                    section: s.code.clone(),
                    scoring: s.scoring,
                    answered: answered.len(),
                    items: s.items.len(),
                    complete,
                    score,
                    band: score.and_then(|v| if s.scoring == Scoring::Bands { s.band(v) } else { None }),
                }
            })
            .collect()
    }

    /// The autonomy section's total, when complete.
    pub fn autonomy_score(&self, answers: &Answers) -> Option<i64> {
        self.score(answers).into_iter().find(|s| s.scoring == Scoring::Autonomy).and_then(|s| s.score)
    }
}

/// Item code → chosen option score.
pub type Answers = BTreeMap<String, i64>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SectionScore {
    pub section: String,
    pub scoring: Scoring,
    pub answered: usize,
    pub items: usize,
    pub complete: bool,
    /// `None` when the section is incomplete or not scored.
    pub score: Option<i64>,
    pub band: Option<Band>,
}

/// Pre vs post personal autonomy: a change of at least `threshold` points either way counts.
pub fn autonomy_change(pre: Option<i64>, post: Option<i64>, threshold: i64) -> Option<AutonomyChange> {
    let diff = post? - pre?;
    Some(if diff >= threshold {
        AutonomyChange::Miglioramento
    } else if diff <= -threshold {
        AutonomyChange::Peggioramento
    } else {
        AutonomyChange::NessunaVariazione
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Text {
        Text { it: s.into(), en: s.into() }
    }

    fn item(code: &str) -> Item {
        Item {
            code: code.into(),
            text: text(code),
            options: (1..=4).map(|s| Opt { score: s, label: text(&s.to_string()) }).collect(),
        }
    }

    fn instrument() -> Instrument {
        Instrument {
            code: "t".into(),
            version: 1,
            kind: AssessmentKind::PostIntervento,
            title: text("t"),
            autonomy_threshold: Some(2),
            sections: vec![
                Section {
                    code: "A".into(),
                    title: text("A"),
                    scoring: Scoring::Bands,
                    bands: Some(equal_bands(5, 20)),
                    tutor: true,
                    items: ["a1", "a2", "a3", "a4", "a5"].map(item).to_vec(),
                },
                Section {
                    code: "aut".into(),
                    title: text("aut"),
                    scoring: Scoring::Autonomy,
                    bands: None,
                    tutor: false,
                    items: ["u1", "u2"].map(item).to_vec(),
                },
                Section {
                    code: "info".into(),
                    title: text("info"),
                    scoring: Scoring::None,
                    bands: None,
                    tutor: false,
                    items: vec![item("i1")],
                },
            ],
        }
    }

    fn answers(pairs: &[(&str, i64)]) -> Answers {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn equal_width_default_bands() {
        assert_eq!(equal_bands(5, 20), Bands { medio_from: 10, alto_from: 15 });
        assert_eq!(equal_bands(6, 24), Bands { medio_from: 12, alto_from: 18 });
        assert_eq!(equal_bands(4, 16), Bands { medio_from: 8, alto_from: 12 });
    }

    #[test]
    fn every_band_edge() {
        let i = instrument();
        let a = &i.sections[0];
        for (score, band) in [
            (5, Band::Basso),
            (9, Band::Basso),
            (10, Band::Medio),
            (14, Band::Medio),
            (15, Band::Alto),
            (20, Band::Alto),
        ] {
            assert_eq!(a.band(score), Some(band), "score {score}");
        }
        // Through the whole scoring path: 1+2+2+2+2 = 9 is basso, one point more is medio.
        let s = i.score(&answers(&[("a1", 1), ("a2", 2), ("a3", 2), ("a4", 2), ("a5", 2)]));
        assert_eq!((s[0].score, s[0].band), (Some(9), Some(Band::Basso)));
        let s = i.score(&answers(&[("a1", 2), ("a2", 2), ("a3", 2), ("a4", 2), ("a5", 2)]));
        assert_eq!((s[0].score, s[0].band), (Some(10), Some(Band::Medio)));
    }

    #[test]
    fn missing_answers_make_a_section_incomplete_never_zero() {
        let i = instrument();
        let s = i.score(&answers(&[("a1", 4), ("a2", 4), ("a3", 4), ("a4", 4)]));
        assert!(!s[0].complete);
        assert_eq!(s[0].score, None);
        assert_eq!(s[0].band, None);
        assert_eq!((s[0].answered, s[0].items), (4, 5));
        assert_eq!(i.autonomy_score(&answers(&[("u1", 3)])), None);
        assert_eq!(autonomy_change(None, Some(6), 2), None);
    }

    #[test]
    fn autonomy_change_edges() {
        assert_eq!(autonomy_change(Some(4), Some(6), 2), Some(AutonomyChange::Miglioramento));
        assert_eq!(autonomy_change(Some(4), Some(5), 2), Some(AutonomyChange::NessunaVariazione));
        assert_eq!(autonomy_change(Some(4), Some(4), 2), Some(AutonomyChange::NessunaVariazione));
        assert_eq!(autonomy_change(Some(4), Some(3), 2), Some(AutonomyChange::NessunaVariazione));
        assert_eq!(autonomy_change(Some(4), Some(2), 2), Some(AutonomyChange::Peggioramento));
    }

    #[test]
    fn answers_are_validated_and_scoped() {
        let i = instrument();
        let raw: BTreeMap<String, String> =
            [("a1", "3"), ("u1", "2"), ("i1", "")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let a = i.parse_answers(&raw, |_| true).unwrap();
        assert_eq!(a, answers(&[("a1", 3), ("u1", 2)]));
        let err = i.parse_answers(&raw, |s| s.tutor).unwrap_err();
        assert_eq!(err.0[0].key, "err-section-not-allowed", "a tutor cannot answer autonomy");
        let bad: BTreeMap<String, String> =
            [("a1", "7"), ("zz", "1")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let keys: Vec<&str> = i.parse_answers(&bad, |_| true).unwrap_err().0.iter().map(|e| e.key).collect();
        assert_eq!(keys, vec!["err-unknown-option", "err-unknown-item"]);
    }

    #[test]
    fn definitions_are_checked() {
        let mut i = instrument();
        assert_eq!(i.check(), Ok(()));
        i.sections[0].bands = Some(Bands { medio_from: 16, alto_from: 12 });
        i.sections[1].items[0].options.reverse();
        i.sections[2].tutor = false;
        i.autonomy_threshold = None;
        let err = i.check().unwrap_err();
        assert!(err.contains("cut points") && err.contains("must grow") && err.contains("autonomy_threshold"), "{err}");
    }
}
