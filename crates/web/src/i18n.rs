//! Italian (default) and English UI text from Fluent bundles embedded in the binary.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use percorsi_domain::Invalid;
use serde::Serialize;
use unic_langid::LanguageIdentifier;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Lang {
    #[serde(rename = "it")]
    It,
    #[serde(rename = "en")]
    En,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().get(..2).map(str::to_ascii_lowercase).as_deref() {
            Some("it") => Some(Lang::It),
            Some("en") => Some(Lang::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::It => "it",
            Lang::En => "en",
        }
    }

    /// The first supported language of an `Accept-Language` header.
    pub fn from_accept(header: &str) -> Option<Lang> {
        header.split(',').filter_map(|part| Lang::parse(part.split(';').next().unwrap_or(""))).next()
    }
}

const IT: &str = include_str!("../i18n/it/main.ftl");
const EN: &str = include_str!("../i18n/en/main.ftl");

pub struct I18n {
    it: FluentBundle<FluentResource>,
    en: FluentBundle<FluentResource>,
}

fn bundle(lang: &str, src: &'static str) -> FluentBundle<FluentResource> {
    let id: LanguageIdentifier = lang.parse().expect("static language tag");
    let mut b = FluentBundle::new_concurrent(vec![id]);
    // Unicode isolation marks would end up inside HTML attributes and CSV cells.
    b.set_use_isolating(false);
    let res = FluentResource::try_new(src.to_string()).expect("embedded Fluent file parses (checked by a unit test)");
    b.add_resource(res).expect("no duplicate Fluent ids (checked by a unit test)");
    b
}

impl I18n {
    pub fn new() -> Self {
        I18n { it: bundle("it", IT), en: bundle("en", EN) }
    }

    fn bundle(&self, lang: Lang) -> &FluentBundle<FluentResource> {
        match lang {
            Lang::It => &self.it,
            Lang::En => &self.en,
        }
    }

    /// The message for `key`, or the key itself when missing (visible, never a crash).
    pub fn t(&self, lang: Lang, key: &str, args: &[(&str, String)]) -> String {
        /// The arguments that are counts.
        const COUNTS: [&str; 9] =
            ["n", "count", "in_care", "projects", "referrals", "placements", "days", "members", "minors"];
        let b = self.bundle(lang);
        let Some(pattern) = b.get_message(key).and_then(|m| m.value()) else {
            return key.to_string();
        };
        let mut fargs = FluentArgs::new();
        for (k, v) in args {
            // Counts are numbers, so that they select the plural form (`[0]`, `[one]`,
            // `*[other]`); other arguments stay text (a code such as "007" keeps its zeros).
            match v.parse::<i64>() {
                Ok(n) if COUNTS.contains(k) => fargs.set(*k, n),
                _ => fargs.set(*k, v.clone()),
            }
        }
        let mut errors = Vec::new();
        b.format_pattern(pattern, if args.is_empty() { None } else { Some(&fargs) }, &mut errors).into_owned()
    }

    /// A field's label; the fields of a project's objective `i` (`o{i}_title`, …) read
    /// "Obiettivo i+1 – Titolo".
    pub fn field_label(&self, lang: Lang, field: &str) -> String {
        let slot = field
            .strip_prefix('o')
            .and_then(|r| r.split_once('_'))
            .and_then(|(n, rest)| n.parse::<usize>().ok().map(|n| (n, rest)));
        match slot {
            Some((n, rest)) => format!(
                "{} – {}",
                self.t(lang, "project-objective", &[("n", (n + 1).to_string())]),
                self.t(lang, &format!("field-objective-{rest}"), &[])
            ),
            None => self.t(lang, &format!("field-{field}"), &[]),
        }
    }

    pub fn has(&self, lang: Lang, key: &str) -> bool {
        self.bundle(lang).has_message(key)
    }

    /// Each field error as (field, "Label: message").
    pub fn field_errors(&self, lang: Lang, invalid: &Invalid) -> Vec<FieldMessage> {
        invalid
            .0
            .iter()
            .map(|e| {
                let args: Vec<(&str, String)> = e.args.iter().map(|(k, v)| (*k, self.arg_label(lang, k, v))).collect();
                FieldMessage {
                    field: e.field.to_string(),
                    label: self.field_label(lang, e.field),
                    message: self.t(lang, e.key, &args),
                }
            })
            .collect()
    }
}

impl I18n {
    /// Message arguments that are codes read better as their labels ("inserimento lavorativo").
    fn arg_label(&self, lang: Lang, name: &str, value: &str) -> String {
        let key = match name {
            "type" => format!("code-intervention_type-{value}"),
            "from" => format!("code-intervention_status-{value}"),
            "transition" => format!("code-transition-{value}"),
            _ => return value.to_string(),
        };
        if !self.has(lang, &key) {
            return value.to_string();
        }
        let label = self.t(lang, &key, &[]);
        let mut chars = label.chars();
        match chars.next() {
            Some(first) => first.to_lowercase().chain(chars).collect(),
            None => label,
        }
    }
}

impl Default for I18n {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FieldMessage {
    pub field: String,
    pub label: String,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use percorsi_domain::codes::*;

    fn ids(src: &str) -> Vec<String> {
        src.lines()
            .filter(|l| !l.starts_with(['#', ' ', '.']) && l.contains(" ="))
            .map(|l| l.split(" =").next().unwrap_or("").trim().to_string())
            .collect()
    }

    #[test]
    fn both_languages_have_the_same_messages() {
        let (it, en) = (ids(IT), ids(EN));
        let missing_en: Vec<_> = it.iter().filter(|k| !en.contains(k)).collect();
        let missing_it: Vec<_> = en.iter().filter(|k| !it.contains(k)).collect();
        assert!(missing_en.is_empty(), "missing in en: {missing_en:?}");
        assert!(missing_it.is_empty(), "missing in it: {missing_it:?}");
        let i = I18n::new();
        assert_eq!(i.t(Lang::It, "nav-persons", &[]), "Persone");
        assert_eq!(i.t(Lang::En, "nav-persons", &[]), "People");
    }

    #[test]
    fn counts_choose_their_plural_form_and_codes_keep_their_zeros() {
        let i = I18n::new();
        let args = |v: [&str; 5]| -> Vec<(&str, String)> {
            ["in_care", "projects", "referrals", "days", "placements"].into_iter().zip(v.map(String::from)).collect()
        };
        assert_eq!(
            i.t(Lang::It, "dashboard-own", &args(["1", "2", "0", "0", "1"])),
            "Il vostro ente: una persona in carico, 2 progetti in corso, nessuna segnalazione da valutare, un inserimento in corso."
        );
        assert_eq!(
            i.t(Lang::En, "dashboard-own", &args(["3", "1", "2", "9", "0"])),
            "Your organisation: 3 people in care, one project in progress, 2 referrals to assess (total wait 9 days), no placement in progress."
        );
        assert_eq!(i.t(Lang::It, "persons-count", &[("count", "1".into())]), "Una persona");
        let code = i.t(Lang::It, "notif-referral-accepted", &[("to", "SerD".into()), ("code", "007".into())]);
        assert!(code.ends_with("007"), "{code}");
    }

    #[test]
    fn every_code_has_a_label() {
        let i = I18n::new();
        let mut keys: Vec<String> = Vec::new();
        keys.extend(OrganisationKind::ALL.iter().map(|c| format!("code-organisation_kind-{c}")));
        keys.extend(Role::ALL.iter().map(|c| format!("code-role-{c}")));
        keys.extend(Sex::ALL.iter().map(|c| format!("code-sex-{c}")));
        keys.extend(Education::ALL.iter().map(|c| format!("code-education-{c}")));
        keys.extend(WorkHistory::ALL.iter().map(|c| format!("code-work_history-{c}")));
        keys.extend(UserClass::ALL.iter().map(|c| format!("code-user_class-{c}")));
        keys.extend(LivingSituation::ALL.iter().map(|c| format!("code-living_situation-{c}")));
        keys.extend(Substance::ALL.iter().map(|c| format!("code-substance-{c}")));
        keys.extend(ConsentPurpose::ALL.iter().map(|c| format!("code-consent_purpose-{c}")));
        keys.extend(EpisodeClosure::ALL.iter().map(|c| format!("code-episode_closure-{c}")));
        use percorsi_domain::instrument::{AssessmentKind, AutonomyChange, Band};
        use percorsi_domain::intervention::*;
        use percorsi_domain::programme::{AmountKind, InterventionType};
        keys.extend(InterventionType::ALL.iter().map(|c| format!("code-intervention_type-{c}")));
        keys.extend(AmountKind::ALL.iter().map(|c| format!("code-amount_kind-{c}")));
        keys.extend(InterventionStatus::ALL.iter().map(|c| format!("code-intervention_status-{c}")));
        keys.extend(Transition::ALL.iter().map(|c| format!("code-transition-{c}")));
        keys.extend(
            Transition::ALL
                .iter()
                .filter(|t| !matches!(t, Transition::Conclude | Transition::Interrupt))
                .map(|c| format!("flash-transition-{c}")),
        );
        keys.extend(PositiveOutcome::ALL.iter().map(|c| format!("code-positive_outcome-{c}")));
        keys.extend(InterruptionReason::ALL.iter().map(|c| format!("code-interruption_reason-{c}")));
        keys.extend(ContractKind::ALL.iter().map(|c| format!("code-contract_kind-{c}")));
        keys.extend(OverallEvaluation::ALL.iter().map(|c| format!("code-evaluation-{c}")));
        keys.extend(Band::ALL.iter().map(|c| format!("code-band-{c}")));
        keys.extend(AssessmentKind::ALL.iter().map(|c| format!("code-assessment_kind-{c}")));
        keys.extend(AutonomyChange::ALL.iter().map(|c| format!("code-autonomy_change-{c}")));
        use percorsi_domain::project::{Axis, ObjectiveOutcome, SupportKind};
        keys.extend(Axis::ALL.iter().map(|c| format!("code-axis-{c}")));
        keys.extend(SupportKind::ALL.iter().map(|c| format!("code-support-{c}")));
        keys.extend(ObjectiveOutcome::ALL.iter().map(|c| format!("code-objective_outcome-{c}")));
        use percorsi_domain::referral::{ReferralStatus, Urgency};
        keys.extend(Urgency::ALL.iter().map(|c| format!("code-urgency-{c}")));
        keys.extend(ReferralStatus::ALL.iter().map(|c| format!("code-referral_status-{c}")));
        use percorsi_domain::opportunity::{HousingKind, OpportunityKind, PlacementEnd, SupportIntensity};
        keys.extend(OpportunityKind::ALL.iter().map(|c| format!("code-opportunity_kind-{c}")));
        keys.extend(HousingKind::ALL.iter().map(|c| format!("code-housing_kind-{c}")));
        keys.extend(SupportIntensity::ALL.iter().map(|c| format!("code-support_intensity-{c}")));
        keys.extend(PlacementEnd::ALL.iter().map(|c| format!("code-placement_end-{c}")));
        for lang in [Lang::It, Lang::En] {
            let missing: Vec<_> = keys.iter().filter(|k| !i.has(lang, k)).collect();
            assert!(missing.is_empty(), "{lang:?} lacks {missing:?}");
        }
    }

    #[test]
    fn field_errors_name_the_field() {
        let i = I18n::new();
        let inv = percorsi_domain::Invalid::one("fiscal_code", "err-fiscal-code-checksum");
        let m = &i.field_errors(Lang::It, &inv)[0];
        assert_eq!(m.label, "Codice fiscale");
        assert!(m.message.contains("controllo"), "{}", m.message);
        let m = &i.field_errors(Lang::En, &inv)[0];
        assert_eq!(m.label, "Fiscal code");
    }

    #[test]
    fn rule_messages_say_the_rule_in_words() {
        let i = I18n::new();
        let inv = percorsi_domain::Invalid(vec![percorsi_domain::FieldError::new("planned_end", "err-duration-rule")
            .arg("type", "inserimento_lavorativo")
            .arg("min", "6")
            .arg("max", "14")
            .arg("months", "5")]);
        let m = &i.field_errors(Lang::It, &inv)[0];
        assert_eq!(
            m.message,
            "la durata di un intervento «inserimento lavorativo» deve essere tra 6 e 14 mesi (sono 5)."
        );
    }

    /// Every message id written as a literal in the Rust sources (`"err-…"`, `"due-…"`,
    /// `"timeline-…"`, `"flash-…"`) exists in both languages.
    #[test]
    fn every_message_id_in_the_code_exists() {
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    out.push(p);
                }
            }
        }
        let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = Vec::new();
        walk(&crates, &mut files);
        let i = I18n::new();
        let (mut checked, mut missing) = (0, Vec::new());
        for f in files {
            let src = std::fs::read_to_string(&f).unwrap_or_default();
            for prefix in ["\"err-", "\"due-", "\"timeline-", "\"flash-"] {
                for (pos, _) in src.match_indices(prefix) {
                    let rest = &src[pos + 1..];
                    let end = rest.find('"').unwrap_or(0);
                    let key = &rest[..end];
                    // Ids built at run time (`format!("flash-{m}")`) end in a brace or a dash.
                    if key.ends_with('-')
                        || !key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    {
                        continue;
                    }
                    checked += 1;
                    for lang in [Lang::It, Lang::En] {
                        if !i.has(lang, key) {
                            missing.push(format!("{}: {key} ({lang:?})", f.display()));
                        }
                    }
                }
            }
        }
        assert!(missing.is_empty(), "{missing:#?}");
        assert!(checked > 80, "found only {checked} message ids");
    }

    #[test]
    fn counts_choose_the_plural_form() {
        let i = I18n::new();
        assert_eq!(i.t(Lang::It, "import-failed", &[("n", "1".into())]), "Il file contiene un errore");
        assert_eq!(i.t(Lang::It, "import-failed", &[("n", "3".into())]), "Il file contiene 3 errori");
        assert_eq!(i.t(Lang::En, "import-failed", &[("n", "1".into())]), "The file has one error");
    }

    #[test]
    fn accept_language() {
        assert_eq!(Lang::from_accept("en-GB,en;q=0.9,it;q=0.8"), Some(Lang::En));
        assert_eq!(Lang::from_accept("de-DE"), None);
    }
}
