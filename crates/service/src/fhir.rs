//! HL7 FHIR R4 views of the registry (ADR 0019): Patient, Organization, EpisodeOfCare and
//! Consent as JSON resources, built from the same use cases as the pages and the JSON API, so
//! the same policy decides what is read and the same audit records it. A Patient carries a
//! name, a full birth date, contacts and the fiscal code only where the caller may see the
//! person's identity; otherwise the pseudonymous code, sex and birth year.
//!
//! Imports of Patient + EpisodeOfCare bundles go through [`Service::register_batch`].

use crate::pathway::Pathway;
use crate::projects::ProjectView;
use crate::{Actor, Result, Service};
use percorsi_domain::episode::EpisodeForm;
use percorsi_domain::instrument::Instrument;
use percorsi_domain::person::PersonForm;
use percorsi_store::{ConsentRow, EpisodeRow, OrganisationRow, PersonSummary, ReferralRow};
use serde_json::{json, Value};

/// The kinds of resource searched by patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compartment {
    EpisodeOfCare,
    QuestionnaireResponse,
    Consent,
    CarePlan,
    ServiceRequest,
}

/// The pseudonymous code, the network-wide identifier of a person.
pub const CODE_SYSTEM: &str = "urn:percorsi:codice-pseudonimo";
/// The Italian fiscal code (HL7 Italia's naming system).
pub const FISCAL_CODE_SYSTEM: &str = "http://hl7.it/sid/codiceFiscale";
const ORGANISATION_KIND_SYSTEM: &str = "urn:percorsi:tipo-ente";
const PURPOSE_SYSTEM: &str = "urn:percorsi:finalita-consenso";
const CLOSURE_SYSTEM: &str = "urn:percorsi:motivo-chiusura";
const AXIS_SYSTEM: &str = "urn:percorsi:asse-progetto";
const SUPPORT_SYSTEM: &str = "urn:percorsi:tipo-sostegno";

/// FHIR's administrative gender from the stored sex code.
fn gender(sex: Option<&str>) -> &'static str {
    match sex {
        Some("M") => "male",
        Some("F") => "female",
        _ => "unknown",
    }
}

fn reference(kind: &str, id: i64) -> Value {
    json!({ "reference": format!("{kind}/{id}") })
}

/// What every Patient carries: the pseudonymous code, sex and birth year.
fn pseudonymous_patient(id: i64, code: &str, sex: Option<&str>, birth_year: Option<i64>) -> Value {
    let mut r = json!({
        "resourceType": "Patient",
        "id": id.to_string(),
        "identifier": [{ "use": "secondary", "system": CODE_SYSTEM, "value": code }],
        "active": true,
        "gender": gender(sex),
    });
    if let Some(year) = birth_year {
        r["birthDate"] = json!(format!("{year:04}"));
    }
    r
}

fn official_name(family: &str, given: &str) -> Value {
    json!([{ "use": "official", "family": family, "given": [given] }])
}

/// A Patient from a pathway (one person read with the policy's full decision).
pub fn patient(p: &Pathway) -> Value {
    let mut r = pseudonymous_patient(p.person.id, &p.person.code, p.person.sex.as_deref(), p.person.birth_year);
    if let Some(i) = &p.identity {
        if let (Some(cf), Some(ids)) = (&i.fiscal_code, r["identifier"].as_array_mut()) {
            ids.insert(0, json!({ "use": "official", "system": FISCAL_CODE_SYSTEM, "value": cf }));
        }
        r["name"] = official_name(&i.surname, &i.name);
        r["birthDate"] = json!(i.birth_date.to_string());
        let mut telecom = Vec::new();
        if let Some(phone) = &i.phone {
            telecom.push(json!({ "system": "phone", "value": phone }));
        }
        if let Some(email) = &i.email {
            telecom.push(json!({ "system": "email", "value": email }));
        }
        if !telecom.is_empty() {
            r["telecom"] = Value::Array(telecom);
        }
        if let Some(address) = &i.address {
            r["address"] = json!([{ "text": address }]);
        }
    }
    r
}

/// A Patient from a list line: the name where the list may show it, the code always.
pub fn patient_summary(p: &PersonSummary) -> Value {
    let mut r = pseudonymous_patient(p.id, &p.code, p.sex.as_deref(), p.birth_year);
    if let (Some(family), Some(given)) = (&p.surname, &p.name) {
        r["name"] = official_name(family, given);
    }
    r
}

pub fn organization(o: &OrganisationRow) -> Value {
    let mut r = json!({
        "resourceType": "Organization",
        "id": o.id.to_string(),
        "active": o.active,
        "type": [{ "coding": [{ "system": ORGANISATION_KIND_SYSTEM, "code": o.kind }] }],
        "name": o.name,
    });
    if let Some(parent) = o.parent_id {
        r["partOf"] = reference("Organization", parent);
    }
    if let Some(t) = &o.territory {
        r["address"] = json!([{ "district": t }]);
    }
    r
}

pub fn episode_of_care(e: &EpisodeRow) -> Value {
    let mut period = json!({ "start": e.start_date.to_string() });
    if let Some(end) = e.end_date {
        period["end"] = json!(end.to_string());
    }
    let mut r = json!({
        "resourceType": "EpisodeOfCare",
        "id": e.id.to_string(),
        "status": if e.end_date.is_some() { "finished" } else { "active" },
        "patient": reference("Patient", e.person_id),
        "managingOrganization": { "reference": format!("Organization/{}", e.organisation_id), "display": e.organisation_name },
        "period": period,
        "careManager": { "display": e.case_manager_name },
    });
    if let Some(closure) = &e.closure {
        r["extension"] = json!([{
            "url": "urn:percorsi:fhir:StructureDefinition:motivo-chiusura",
            "valueCoding": { "system": CLOSURE_SYSTEM, "code": closure }
        }]);
    }
    r
}

pub fn consent(c: &ConsentRow, today: chrono::NaiveDate) -> Value {
    let in_force = c.revoked_at.is_none() && c.expiry_date.is_none_or(|d| d >= today);
    let mut period = json!({ "start": c.start_date.to_string() });
    if let Some(end) = c.expiry_date {
        period["end"] = json!(end.to_string());
    }
    json!({
        "resourceType": "Consent",
        "id": c.id.to_string(),
        "status": if in_force { "active" } else { "inactive" },
        "scope": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy" }] },
        "category": [{ "coding": [{ "system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent" }] }],
        "patient": reference("Patient", c.person_id),
        "dateTime": format!("{}T00:00:00Z", c.start_date),
        "organization": [{ "reference": format!("Organization/{}", c.organisation_id), "display": c.organisation_name }],
        "policyRule": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN" }] },
        "provision": {
            "type": "permit",
            "period": period,
            "actor": [{
                "role": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP" }] },
                "reference": reference("Organization", c.organisation_id)
            }],
            "purpose": [{ "system": PURPOSE_SYSTEM, "code": c.purpose }]
        }
    })
}

/// The personalised project (Budget di Salute) as a CarePlan, its objectives as contained
/// Goals (axis as category, due date as target, expected results as a note).
pub fn care_plan(v: &ProjectView, today: chrono::NaiveDate) -> Value {
    let p = &v.project;
    let patient = reference("Patient", p.person_id);
    let goals: Vec<Value> = v
        .plan
        .objectives
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let mut g = json!({
                "resourceType": "Goal",
                "id": format!("obiettivo-{}", i + 1),
                "lifecycleStatus": "active",
                "category": [{ "coding": [{ "system": AXIS_SYSTEM, "code": o.axis.code() }] }],
                "description": { "text": o.title },
                "subject": patient,
            });
            if let Some(due) = o.due {
                g["target"] = json!([{ "dueDate": due.to_string() }]);
            }
            if !o.expected_results.trim().is_empty() {
                g["note"] = json!([{ "text": o.expected_results }]);
            }
            g
        })
        .collect();
    let refs: Vec<Value> =
        goals.iter().map(|g| json!({ "reference": format!("#{}", g["id"].as_str().unwrap_or_default()) })).collect();
    let mut r = json!({
        "resourceType": "CarePlan",
        "id": p.id.to_string(),
        "status": if p.end_date < today { "completed" } else { "active" },
        "intent": "plan",
        "title": "Progetto personalizzato (Budget di Salute)",
        "subject": patient,
        "period": { "start": p.start_date.to_string(), "end": p.end_date.to_string() },
        "author": { "reference": format!("Organization/{}", p.organisation_id), "display": p.organisation_name },
    });
    if !goals.is_empty() {
        r["contained"] = Value::Array(goals);
        r["goal"] = Value::Array(refs);
    }
    r
}

/// A referral as a ServiceRequest from one organisation to another.
pub fn service_request(r: &ReferralRow) -> Value {
    let mut s = json!({
        "resourceType": "ServiceRequest",
        "id": r.id.to_string(),
        "status": match r.status.as_str() { "accettata" => "completed", "rifiutata" => "revoked", _ => "active" },
        "intent": "order",
        "priority": if r.urgency == "ordinaria" { "routine" } else { "urgent" },
        "subject": reference("Patient", r.person_id),
        "authoredOn": r.created_at,
        "performer": [{ "reference": format!("Organization/{}", r.to_org), "display": r.to_org_name }],
        "reasonCode": [{ "text": r.reason }],
    });
    if let Some(from) = r.from_org {
        s["requester"] = json!({ "reference": format!("Organization/{from}"), "display": r.from_org_name });
    }
    if let Some(support) = &r.support {
        s["category"] = json!([{ "coding": [{ "system": SUPPORT_SYSTEM, "code": support }] }]);
    }
    s
}

/// A versioned form (scheda) as a Questionnaire: sections as groups, items as choices whose
/// codes are the scores.
pub fn questionnaire(id: i64, i: &Instrument) -> Value {
    json!({
        "resourceType": "Questionnaire",
        "id": id.to_string(),
        "url": format!("urn:percorsi:scheda:{}", i.code),
        "version": i.version.to_string(),
        "title": i.title.it,
        "status": "active",
        "language": "it",
        "subjectType": ["Patient"],
        "item": i.sections.iter().map(|s| {
            let mut items: Vec<Value> = s.items.iter().map(|it| json!({
                "linkId": it.code,
                "text": it.text.it,
                "type": "choice",
                "answerOption": it.options.iter().map(|o| json!({
                    "valueCoding": { "code": o.score.to_string(), "display": o.label.it }
                })).collect::<Vec<_>>(),
            })).collect();
            // The section's score, computed from its items (what a QuestionnaireResponse of
            // Percorsi answers).
            items.push(json!({ "linkId": score_link(&s.code), "text": "Punteggio della sezione", "type": "integer", "readOnly": true }));
            json!({ "linkId": s.code, "text": s.title.it, "type": "group", "item": items })
        }).collect::<Vec<_>>(),
    })
}

fn score_link(section: &str) -> String {
    format!("{section}-punteggio")
}

/// A filled multidimensional assessment as a QuestionnaireResponse: the section scores (and
/// bands) computed when it was saved, under the form's score items — not the single answers.
pub fn questionnaire_response(
    patient_id: i64,
    n: usize,
    a: &crate::coordination::AssessmentView,
    form: &Instrument,
) -> Value {
    json!({
        "resourceType": "QuestionnaireResponse",
        "id": format!("{patient_id}-{n}"),
        "questionnaire": format!("urn:percorsi:scheda:{}|{}", form.code, form.version),
        "status": "completed",
        "subject": reference("Patient", patient_id),
        "authored": format!("{}T00:00:00Z", a.assessed_on),
        "author": { "display": format!("{} ({})", a.author_name, a.organisation_name) },
        "item": a.scores.iter().filter(|sc| sc.score.is_some()).map(|sc| json!({
            "linkId": sc.section,
            "item": [{
                "linkId": score_link(&sc.section),
                "answer": [{ "valueInteger": sc.score }],
            }],
        })).collect::<Vec<_>>(),
    })
}

/// A member of an organisation as a Practitioner (the person) ...
pub fn practitioner(m: &percorsi_store::MembershipRow) -> Value {
    json!({
        "resourceType": "Practitioner",
        "id": m.user_id.to_string(),
        "active": true,
        "name": [{ "text": m.display_name }],
    })
}

/// ... and a PractitionerRole (what they do, where).
pub fn practitioner_role(m: &percorsi_store::MembershipRow) -> Value {
    json!({
        "resourceType": "PractitionerRole",
        "id": m.id.to_string(),
        "active": m.active,
        "practitioner": { "reference": format!("Practitioner/{}", m.user_id), "display": m.display_name },
        "organization": { "reference": format!("Organization/{}", m.organisation_id), "display": m.organisation_name },
        "code": [{ "coding": [{ "system": "urn:percorsi:ruolo", "code": m.role }] }],
    })
}

/// A search result: the matches with their full URLs under `base`.
pub fn searchset(base: &str, resources: Vec<Value>) -> Value {
    let entries: Vec<Value> = resources
        .into_iter()
        .map(|r| {
            let url = format!(
                "{base}/{}/{}",
                r["resourceType"].as_str().unwrap_or_default(),
                r["id"].as_str().unwrap_or_default()
            );
            json!({ "fullUrl": url, "resource": r, "search": { "mode": "match" } })
        })
        .collect();
    json!({ "resourceType": "Bundle", "type": "searchset", "total": entries.len(), "entry": entries })
}

/// What this server offers, for `GET /metadata`.
pub fn capability_statement(base: &str, version: &str) -> Value {
    let read_search = |kind: &str, params: &[(&str, &str)]| {
        json!({
            "type": kind,
            "interaction": [{ "code": "read" }, { "code": "search-type" }],
            "searchParam": params.iter().map(|(n, t)| json!({ "name": n, "type": t })).collect::<Vec<_>>(),
        })
    };
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-27",
        "publisher": "Percorsi",
        "kind": "instance",
        "software": { "name": "Percorsi", "version": version },
        "implementation": { "description": "Percorsi — rete per il reinserimento sociale", "url": base },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json"],
        "rest": [{
            "mode": "server",
            "security": { "description": "Authorization: Bearer <token di Percorsi>; what a token reads is what its user may read, and every read is audited." },
            "resource": [
                read_search("Patient", &[("identifier", "token")]),
                read_search("Organization", &[]),
                read_search("EpisodeOfCare", &[("patient", "reference")]),
                read_search("Consent", &[("patient", "reference")]),
                read_search("CarePlan", &[("patient", "reference")]),
                read_search("ServiceRequest", &[("patient", "reference")]),
                read_search("Questionnaire", &[]),
                read_search("QuestionnaireResponse", &[("patient", "reference")]),
                read_search("Practitioner", &[]),
                read_search("PractitionerRole", &[]),
            ],
            "interaction": [{ "code": "transaction" }]
        }]
    })
}

/// One entry of an imported bundle, or why it cannot be read: (FHIRPath of the problem, message).
pub type EntryProblem = (String, String);

/// The registration forms of a transaction bundle of Patient and EpisodeOfCare entries: each
/// EpisodeOfCare names its patient by the Patient entry's `fullUrl` (`urn:uuid:…`) and gives
/// the start and the case manager (`careManager.identifier.value`: the user id); a Patient
/// without an episode is refused (an organisation registers the people it takes in charge).
pub fn registrations_of(bundle: &Value) -> std::result::Result<Vec<(PersonForm, EpisodeForm)>, Vec<EntryProblem>> {
    let mut problems = Vec::new();
    if bundle["resourceType"] != "Bundle" || !matches!(bundle["type"].as_str(), Some("transaction" | "batch")) {
        problems.push(("Bundle.type".into(), "expected a Bundle of type transaction".into()));
        return Err(problems);
    }
    let entries = bundle["entry"].as_array().cloned().unwrap_or_default();
    let mut patients: Vec<(usize, String, PersonForm)> = Vec::new();
    let mut episodes: Vec<(usize, String, EpisodeForm)> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let at = |field: &str| format!("Bundle.entry[{i}].resource{field}");
        let r = &e["resource"];
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        match r["resourceType"].as_str() {
            Some("Patient") => {
                let full_url = text(&e["fullUrl"]);
                if full_url.is_empty() {
                    problems.push((format!("Bundle.entry[{i}].fullUrl"), "required: the episode refers to it".into()));
                }
                let name = &r["name"][0];
                let fiscal = r["identifier"]
                    .as_array()
                    .and_then(|ids| ids.iter().find(|id| id["system"] == FISCAL_CODE_SYSTEM))
                    .map(|id| text(&id["value"]))
                    .unwrap_or_default();
                let telecom = |system: &str| {
                    r["telecom"]
                        .as_array()
                        .and_then(|t| t.iter().find(|c| c["system"] == system))
                        .map(|c| text(&c["value"]))
                        .unwrap_or_default()
                };
                let sex = match r["gender"].as_str() {
                    Some("male") => "M",
                    Some("female") => "F",
                    Some(_) | None => {
                        problems
                            .push((at(".gender"), "male or female: the pseudonymous code is derived from it".into()));
                        ""
                    }
                };
                patients.push((
                    i,
                    full_url,
                    PersonForm {
                        surname: text(&name["family"]),
                        name: name["given"]
                            .as_array()
                            .map(|g| g.iter().map(text).collect::<Vec<_>>().join(" "))
                            .unwrap_or_default(),
                        fiscal_code: fiscal,
                        birth_date: text(&r["birthDate"]),
                        sex: sex.into(),
                        phone: telecom("phone"),
                        email: telecom("email"),
                        address: text(&r["address"][0]["text"]),
                        ..PersonForm::default()
                    },
                ));
            }
            Some("EpisodeOfCare") => {
                let patient = text(&r["patient"]["reference"]);
                episodes.push((
                    i,
                    patient,
                    EpisodeForm {
                        start_date: text(&r["period"]["start"]),
                        case_manager_id: match &r["careManager"]["identifier"]["value"] {
                            Value::String(s) => s.clone(),
                            Value::Number(n) => n.to_string(),
                            _ => String::new(),
                        },
                        ..EpisodeForm::default()
                    },
                ));
            }
            other => problems.push((
                at(".resourceType"),
                format!("{} is not imported (Patient and EpisodeOfCare only)", other.unwrap_or("(none)")),
            )),
        }
    }
    let mut out = Vec::new();
    for (i, url, person) in patients {
        let mut mine = episodes.iter().filter(|(_, p, _)| *p == url);
        match (mine.next(), mine.next()) {
            (Some((_, _, episode)), None) => out.push((person, episode.clone())),
            (None, _) => problems.push((format!("Bundle.entry[{i}]"), format!("no EpisodeOfCare refers to {url}"))),
            (Some(_), Some(_)) => {
                problems.push((format!("Bundle.entry[{i}]"), format!("more than one EpisodeOfCare refers to {url}")))
            }
        }
    }
    for (i, url, _) in &episodes {
        if !entries.iter().any(|e| e["resource"]["resourceType"] == "Patient" && e["fullUrl"] == url.as_str()) {
            problems.push((
                format!("Bundle.entry[{i}].resource.patient"),
                format!("{url:?} is not a Patient of this bundle"),
            ));
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

impl Service {
    pub async fn fhir_patient(&self, actor: &Actor, id: i64) -> Result<Value> {
        Ok(patient(&self.pathway(actor, id).await?))
    }

    /// Patients the actor sees; with `code`, the one with that pseudonymous code.
    pub async fn fhir_patients(&self, actor: &Actor, code: Option<&str>) -> Result<Vec<Value>> {
        let list = self.persons(actor, code).await?;
        Ok(list
            .iter()
            .filter(|p| code.is_none_or(|c| p.code.eq_ignore_ascii_case(c.trim())))
            .map(patient_summary)
            .collect())
    }

    /// A person's resources of one kind, each read through the use case its page uses (policy
    /// and audit included).
    pub async fn fhir_compartment(&self, actor: &Actor, patient_id: i64, kind: Compartment) -> Result<Vec<Value>> {
        let today = crate::today();
        Ok(match kind {
            Compartment::EpisodeOfCare => {
                self.pathway(actor, patient_id).await?.episodes.iter().map(episode_of_care).collect()
            }
            Compartment::Consent => {
                self.pathway(actor, patient_id).await?.consents.iter().map(|c| consent(c, today)).collect()
            }
            Compartment::CarePlan => {
                let mut out = Vec::new();
                for p in self.projects_of_person(actor, patient_id).await? {
                    out.push(care_plan(&self.project(actor, p.id, None).await?, today));
                }
                out
            }
            Compartment::QuestionnaireResponse => {
                let form = self.assessment_instrument().await?;
                let list = self.person_assessments(actor, patient_id).await?;
                list.iter().enumerate().map(|(n, a)| questionnaire_response(patient_id, n + 1, a, &form)).collect()
            }
            Compartment::ServiceRequest => {
                self.referrals_of_person(actor, patient_id).await?.iter().map(service_request).collect()
            }
        })
    }

    /// The people of the actor's organisation and what each does there (staff roles only).
    pub async fn fhir_practitioner_roles(&self, actor: &Actor) -> Result<Vec<percorsi_store::MembershipRow>> {
        if actor.role == percorsi_domain::codes::Role::Persona {
            return Err(crate::ServiceError::Forbidden);
        }
        let roles: Vec<&str> = percorsi_domain::codes::Role::ALL
            .iter()
            .filter(|r| **r != percorsi_domain::codes::Role::Persona)
            .map(|r| r.code())
            .collect();
        let mut tx = self.store().read().await?;
        let list = tx.members_with_roles(Some(actor.organisation_id), &roles).await?;
        tx.commit().await?;
        Ok(list)
    }

    /// The forms in use, newest version of each first.
    pub async fn fhir_questionnaires(&self) -> Result<Vec<Value>> {
        Ok(self.list_instruments().await?.iter().map(|(id, i)| questionnaire(*id, i)).collect())
    }

    pub async fn fhir_organizations(&self) -> Result<Vec<Value>> {
        Ok(self.organisations().await?.iter().map(organization).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle(entries: Value) -> Value {
        json!({ "resourceType": "Bundle", "type": "transaction", "entry": entries })
    }

    fn patient_entry(url: &str, gender: &str) -> Value {
        json!({ "fullUrl": url, "resource": {
            "resourceType": "Patient",
            "identifier": [{ "system": FISCAL_CODE_SYSTEM, "value": "RSSMRA80A01H501U" }],
            "name": [{ "family": "Rossi", "given": ["Mario", "Luigi"] }],
            "gender": gender, "birthDate": "1980-01-01",
            "telecom": [{ "system": "email", "value": "m@x.it" }]
        }})
    }

    fn episode_entry(patient: &str) -> Value {
        json!({ "resource": { "resourceType": "EpisodeOfCare", "status": "active",
            "patient": { "reference": patient }, "period": { "start": "2026-03-01" },
            "careManager": { "identifier": { "value": "5" } } } })
    }

    #[test]
    fn a_bundle_pairs_each_patient_with_its_episode() {
        let ok = registrations_of(&bundle(json!([patient_entry("urn:uuid:1", "male"), episode_entry("urn:uuid:1")])))
            .expect("valid");
        assert_eq!(ok.len(), 1);
        let (p, e) = &ok[0];
        assert_eq!((p.surname.as_str(), p.name.as_str(), p.sex.as_str()), ("Rossi", "Mario Luigi", "M"));
        assert_eq!((p.fiscal_code.as_str(), p.email.as_str()), ("RSSMRA80A01H501U", "m@x.it"));
        assert_eq!((e.start_date.as_str(), e.case_manager_id.as_str()), ("2026-03-01", "5"));
    }

    #[test]
    fn every_problem_of_a_bundle_names_its_entry() {
        let bad = bundle(json!([
            patient_entry("urn:uuid:1", "other"),
            patient_entry("urn:uuid:2", "female"),
            episode_entry("urn:uuid:1"),
            episode_entry("urn:uuid:9"),
            { "resource": { "resourceType": "Observation" } }
        ]));
        let problems = registrations_of(&bad).expect_err("invalid");
        let paths: Vec<&str> = problems.iter().map(|(p, _)| p.as_str()).collect();
        assert!(paths.contains(&"Bundle.entry[0].resource.gender"), "{paths:?}");
        assert!(paths.contains(&"Bundle.entry[1]"), "patient 2 has no episode: {paths:?}");
        assert!(paths.contains(&"Bundle.entry[3].resource.patient"), "{paths:?}");
        assert!(paths.contains(&"Bundle.entry[4].resource.resourceType"), "{paths:?}");
        assert!(registrations_of(&json!({ "resourceType": "Bundle", "type": "searchset" })).is_err());
    }

    #[test]
    fn a_consent_is_active_only_while_in_force() {
        let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
        let c = ConsentRow {
            id: 1,
            person_id: 2,
            organisation_id: 3,
            organisation_name: "Il Faro".into(),
            purpose: "monitoraggio".into(),
            start_date: day("2026-01-01"),
            expiry_date: Some(day("2026-06-30")),
            revoked_at: None,
            recorded_by_name: "Anna".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
        };
        assert_eq!(consent(&c, day("2026-06-30"))["status"], "active");
        assert_eq!(consent(&c, day("2026-07-01"))["status"], "inactive");
        let revoked = ConsentRow { revoked_at: Some("2026-02-01T00:00:00Z".into()), ..c };
        assert_eq!(consent(&revoked, day("2026-03-01"))["status"], "inactive");
    }
}
