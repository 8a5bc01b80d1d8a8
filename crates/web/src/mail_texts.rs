//! The words of the e-mails, from the same Fluent files as the pages: what happened and where
//! to look, never who it concerns.

use crate::i18n::{I18n, Lang};
use percorsi_domain::notification::{Event, MailLanguage};
use percorsi_service::deliveries::{DigestCounts, MailTexts};
use std::sync::Arc;

struct FluentMailTexts(I18n);

impl MailTexts for FluentMailTexts {
    fn mail(&self, event: Event, language: MailLanguage, counts: &DigestCounts, public_url: &str) -> (String, String) {
        let lang = match language {
            MailLanguage::It => Lang::It,
            MailLanguage::En => Lang::En,
        };
        let t = |key: &str, args: &[(&str, String)]| self.0.t(lang, key, args);
        let subject = t(&format!("mail-subject-{}", event.code()), &[]);
        let mut body = vec![t(&format!("mail-body-{}", event.code()), &[])];
        if event == Event::Digest {
            for (key, n) in [
                ("mail-digest-referrals", counts.referrals),
                ("mail-digest-transfers", counts.transfers),
                ("mail-digest-reviews", counts.reviews),
                ("mail-digest-commitments", counts.commitments),
                ("mail-digest-interventions", counts.interventions),
            ] {
                if n > 0 {
                    body.push(format!("- {}", t(key, &[("n", n.to_string())])));
                }
            }
        }
        body.push(String::new());
        body.push(t("mail-open", &[("link", format!("{public_url}{}", event.link()))]));
        body.push(String::new());
        body.push(t("mail-footer", &[("settings", format!("{public_url}/account/notifiche"))]));
        (subject, body.join("\n"))
    }
}

/// The texts the delivery worker writes e-mails with.
pub fn mail_texts() -> Arc<dyn MailTexts> {
    Arc::new(FluentMailTexts(I18n::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_has_a_subject_and_a_body_in_both_languages_and_no_placeholder_left() {
        let texts = mail_texts();
        let counts = DigestCounts { referrals: 2, transfers: 1, reviews: 3, commitments: 1, interventions: 4 };
        for lang in MailLanguage::ALL {
            for e in Event::ALL {
                let (subject, body) = texts.mail(*e, *lang, &counts, "https://percorsi.example.it");
                assert!(!subject.starts_with("mail-") && !body.contains("mail-"), "{e:?} {lang:?}: {subject} / {body}");
                assert!(body.contains(&format!("https://percorsi.example.it{}", e.link())), "{body}");
                assert!(body.contains("https://percorsi.example.it/account/notifiche"), "{body}");
                assert!(!body.contains('{'), "{body}");
            }
        }
        let (_, digest) = texts.mail(Event::Digest, MailLanguage::It, &counts, "https://x.it");
        assert!(digest.contains("2 segnalazioni") && digest.contains("4 interventi"), "{digest}");
    }
}
