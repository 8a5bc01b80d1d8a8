//! The opportunities catalogue as an Open Referral directory (HSDS 3.0, ADR 0020): published
//! as HSDS services for other directories and systems to read, and read from a directory
//! published by others (a municipality's list of services) into opportunities.
//!
//! A housing unit's location is never published: the people living there would be found by
//! it. Its territory is.

use crate::audit::record;
use crate::policy::{self, Permission};
use crate::{Actor, Result, Service, ServiceError};
use percorsi_domain::opportunity::{OpportunityForm, OpportunityKind};
use percorsi_domain::Invalid;
use percorsi_store::{OpportunityRow, OrganisationRow};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// A stable UUID for one of our records in HSDS (which names everything by UUID): the same
/// record always gets the same one, and different records different ones.
pub fn uuid_for(kind: &str, id: i64) -> String {
    let h = Sha256::digest(format!("percorsi:{kind}:{id}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    // RFC 9562 version 8 (custom), variant 10.
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &x[0..8], &x[8..12], &x[12..16], &x[16..20], &x[20..32])
}

fn set(v: &mut Value, key: &str, value: &Option<String>) {
    if let Some(x) = value {
        v[key] = json!(x);
    }
}

/// One opportunity as an HSDS 3.0 service, with its organisation, area, languages, contacts
/// and (except for housing) location.
pub fn hsds_service(o: &OpportunityRow, org: &OrganisationRow) -> Value {
    let sid = uuid_for("service", o.id);
    let oid = uuid_for("organization", org.id);
    let mut s = json!({
        "id": sid,
        "organization_id": oid,
        "name": o.title,
        "description": o.description.clone().unwrap_or_else(|| o.title.clone()),
        "status": "active",
        "organization": {
            "id": oid,
            "name": org.name,
            "description": format!("{} ({})", org.name, org.kind),
        },
        "service_areas": [{ "id": uuid_for("service_area", o.id), "service_id": sid, "name": o.territory }],
        "languages": o.languages.iter().map(|code| json!({
            "id": uuid_for(&format!("language:{code}"), o.id), "service_id": sid, "code": code
        })).collect::<Vec<_>>(),
        // Percorsi's own classification and the places, so that a Percorsi installation
        // reading this directory back keeps them (HSDS 3.0 has no capacity object).
        "percorsi": {
            "kind": o.kind, "axis": o.axis, "capacity": o.capacity, "available": o.available,
            "housing_kind": o.housing_kind, "support_intensity": o.support_intensity,
        },
    });
    set(&mut s, "url", &o.url);
    set(&mut s, "email", &o.email);
    set(&mut s, "eligibility_description", &o.eligibility);
    if let Some(phone) = &o.phone {
        s["phones"] = json!([{ "id": uuid_for("phone", o.id), "service_id": sid, "number": phone }]);
    }
    if let Some(schedule) = &o.schedule {
        s["schedules"] = json!([{ "id": uuid_for("schedule", o.id), "service_id": sid, "description": schedule }]);
    }
    let housing = o.kind == OpportunityKind::Abitazione.code();
    if let (false, Some(street), Some(city), Some(province), Some(postal)) =
        (housing, &o.address, &o.city, &o.province, &o.postal_code)
    {
        let lid = uuid_for("location", o.id);
        s["service_at_locations"] = json!([{
            "id": uuid_for("service_at_location", o.id),
            "service_id": sid,
            "location_id": lid,
            "location": {
                "id": lid, "location_type": "physical", "name": o.title,
                "addresses": [{
                    "id": uuid_for("address", o.id), "location_id": lid, "address_1": street, "city": city,
                    "state_province": province, "postal_code": postal, "country": "IT", "address_type": "physical"
                }]
            }
        }]);
    }
    s
}

/// The HSDS API's page of results.
pub fn hsds_page(contents: Vec<Value>, page: usize, per_page: usize, total: usize) -> Value {
    let pages = total.div_ceil(per_page).max(1);
    json!({
        "total_items": total,
        "total_pages": pages,
        "page_number": page,
        "size": contents.len(),
        "first_page": page == 1,
        "last_page": page >= pages,
        "empty": contents.is_empty(),
        "contents": contents,
    })
}

/// The HSDS 3.0 tabular descriptor of the tables Percorsi publishes (the specification's own
/// resource schemas for them, copied from its `datapackage.json`).
const DATAPACKAGE: &str = include_str!("hsds_datapackage.json");

/// The data package descriptor (`/hsds/datapackage.json`): this catalogue's name, the
/// specification's table schemas, CSV paths relative to the descriptor.
pub fn hsds_datapackage() -> Value {
    let mut d: Value = serde_json::from_str(DATAPACKAGE).unwrap_or_else(|_| json!({ "resources": [] }));
    d["name"] = json!("percorsi-opportunita");
    d["title"] = json!("Percorsi — catalogo delle opportunità (Open Referral HSDS 3.0)");
    if let Some(o) = d.as_object_mut() {
        // The specification's licence is not the data's: the region that publishes says it.
        o.remove("license");
    }
    d
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

/// The rows of one published table, flattened from the services as the JSON API gives them.
fn rows_of(table: &str, services: &[Value]) -> Vec<Value> {
    let list = |v: &Value| v.as_array().cloned().unwrap_or_default();
    let at_locations = || services.iter().flat_map(|s| list(&s["service_at_locations"]));
    match table {
        "service" => services.to_vec(),
        "organization" => {
            let mut seen = std::collections::BTreeSet::new();
            services
                .iter()
                .filter(|s| seen.insert(cell(&s["organization"]["id"])))
                .map(|s| s["organization"].clone())
                .collect()
        }
        // Kept on each service under the plural: `service_areas`, `languages`, `phones`, `schedules`.
        "service_area" | "language" | "phone" | "schedule" => {
            services.iter().flat_map(|s| list(&s[format!("{table}s").as_str()])).collect()
        }
        "service_at_location" => at_locations().collect(),
        "location" => at_locations().map(|sal| sal["location"].clone()).collect(),
        "address" => at_locations().flat_map(|sal| list(&sal["location"]["addresses"])).collect(),
        _ => Vec::new(),
    }
}

/// One table of the data package (by CSV path): every column the specification lists, blank
/// where Percorsi has nothing; `None` for a path the package does not have.
pub fn hsds_table(services: &[Value], path: &str) -> Result<Option<String>> {
    let package = hsds_datapackage();
    let Some(r) = package["resources"].as_array().and_then(|rs| rs.iter().find(|r| r["path"] == path)) else {
        return Ok(None);
    };
    let fields: Vec<String> =
        r["schema"]["fields"].as_array().map(|f| f.iter().map(|x| cell(&x["name"])).collect()).unwrap_or_default();
    let broken = |e: csv::Error| ServiceError::Broken(format!("HSDS table: {e}"));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&fields).map_err(broken)?;
    for row in rows_of(r["name"].as_str().unwrap_or_default(), services) {
        w.write_record(fields.iter().map(|f| cell(&row[f.as_str()]))).map_err(broken)?;
    }
    let bytes = w.into_inner().map_err(|e| ServiceError::Broken(format!("HSDS table: {e}")))?;
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

/// What the importer decides for services the directory does not classify: Percorsi's kind
/// and axis, the places, the territory when the directory names none.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::IntoParams, utoipa::ToSchema)]
#[serde(default)]
pub struct DirectoryImportForm {
    pub kind: String,
    pub axis: String,
    pub capacity: String,
    pub territory: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct DirectoryImport {
    pub created: usize,
    pub updated: usize,
    /// Services not active in the source (inactive, closed): not imported.
    pub skipped: usize,
}

/// A problem with one service of the source: where (`contents[3].email`) and the message key.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DirectoryProblem {
    pub at: String,
    pub field: String,
    pub key: String,
    pub args: Vec<(String, String)>,
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// The services of an HSDS document: a page (`contents`), a list, or one service.
fn services_of(doc: &Value) -> Vec<Value> {
    match doc {
        Value::Array(list) => list.clone(),
        Value::Object(o) if o.contains_key("contents") => doc["contents"].as_array().cloned().unwrap_or_default(),
        Value::Object(_) => vec![doc.clone()],
        _ => Vec::new(),
    }
}

/// The opportunity form of one service, with the importer's choices where the service says
/// nothing (a Percorsi export says everything).
fn form_of(service: &Value, d: &DirectoryImportForm) -> OpportunityForm {
    let ours = &service["percorsi"];
    let pick = |key: &str, default: &str| match text(&ours[key]) {
        s if s.is_empty() => default.to_string(),
        s => s,
    };
    let address = service["service_at_locations"]
        .as_array()
        .and_then(|l| l.iter().find_map(|sal| sal["location"]["addresses"].as_array().and_then(|a| a.first()).cloned()))
        .unwrap_or(Value::Null);
    let province = text(&address["state_province"]);
    let schedule = service["schedules"].as_array().and_then(|s| s.first()).map(|s| {
        let described = text(&s["description"]);
        if described.is_empty() {
            [text(&s["byday"]), text(&s["opens_at"]), text(&s["closes_at"])]
                .into_iter()
                .filter(|x| !x.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            described
        }
    });
    OpportunityForm {
        kind: pick("kind", &d.kind),
        axis: pick("axis", &d.axis),
        title: text(&service["name"]),
        description: text(&service["description"]),
        territory: service["service_areas"]
            .as_array()
            .and_then(|a| a.first())
            .map(|a| text(&a["name"]))
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| d.territory.clone()),
        capacity: pick("capacity", &d.capacity),
        housing_kind: pick("housing_kind", ""),
        support_intensity: pick("support_intensity", ""),
        address: text(&address["address_1"]),
        city: text(&address["city"]),
        postal_code: text(&address["postal_code"]),
        // A province name ("Massa-Carrara") rather than its code is left out, not refused.
        province: if province.chars().count() == 2 { province } else { String::new() },
        phone: service["phones"].as_array().and_then(|p| p.first()).map(|p| text(&p["number"])).unwrap_or_default(),
        email: text(&service["email"]),
        url: text(&service["url"]),
        schedule: schedule.unwrap_or_default(),
        eligibility: text(&service["eligibility_description"]),
        languages: service["languages"]
            .as_array()
            .map(|l| l.iter().map(|x| text(&x["code"])).filter(|c| !c.is_empty()).collect::<Vec<_>>().join(","))
            .unwrap_or_default(),
    }
}

impl Service {
    /// The whole catalogue as HSDS services.
    async fn all_hsds_services(&self, actor: &Actor) -> Result<Vec<Value>> {
        policy::require(actor, Permission::ViewOpportunities)?;
        let mut tx = self.store().read().await?;
        let all = tx.opportunities(None, None, None).await?;
        let orgs = tx.organisations().await?;
        tx.commit().await?;
        Ok(all
            .iter()
            .filter_map(|o| orgs.iter().find(|g| g.id == o.organisation_id).map(|g| hsds_service(o, g)))
            .collect())
    }

    /// A page of the catalogue as HSDS services (1-based `page`).
    pub async fn hsds_services(&self, actor: &Actor, page: usize, per_page: usize) -> Result<Value> {
        let (page, per_page) = (page.max(1), per_page.clamp(1, 500));
        let all = self.all_hsds_services(actor).await?;
        let total = all.len();
        let contents = all.into_iter().skip((page - 1) * per_page).take(per_page).collect();
        Ok(hsds_page(contents, page, per_page, total))
    }

    /// One table of the catalogue's data package (`services.csv`, …).
    pub async fn hsds_csv(&self, actor: &Actor, path: &str) -> Result<String> {
        let services = self.all_hsds_services(actor).await?;
        hsds_table(&services, path)?.ok_or(ServiceError::NotFound)
    }

    /// One service by its HSDS id.
    pub async fn hsds_service(&self, actor: &Actor, id: &str) -> Result<Value> {
        self.all_hsds_services(actor).await?.into_iter().find(|s| s["id"] == id).ok_or(ServiceError::NotFound)
    }

    /// Reads a directory into the actor's organisation's opportunities, all or nothing: every
    /// active service is created, or updated when an earlier import brought it (by the
    /// source's service id); any invalid service is reported with where it is and nothing is
    /// written.
    pub async fn import_directory(
        &self,
        actor: &Actor,
        doc: &Value,
        defaults: &DirectoryImportForm,
    ) -> std::result::Result<DirectoryImport, std::result::Result<Vec<DirectoryProblem>, ServiceError>> {
        policy::require(actor, Permission::ManageOpportunities).map_err(Err)?;
        let services = services_of(doc);
        if services.is_empty() {
            return Err(Ok(vec![DirectoryProblem {
                at: "contents".into(),
                field: "contents".into(),
                key: "err-directory-empty".into(),
                args: Vec::new(),
            }]));
        }
        let mut report = DirectoryImport::default();
        let mut valid = Vec::new();
        let mut problems = Vec::new();
        for (i, s) in services.iter().enumerate() {
            let status = text(&s["status"]);
            if !status.is_empty() && status != "active" {
                report.skipped += 1;
                continue;
            }
            let id = text(&s["id"]);
            if id.is_empty() {
                problems.push(DirectoryProblem {
                    at: format!("contents[{i}].id"),
                    field: "id".into(),
                    key: "err-required".into(),
                    args: Vec::new(),
                });
                continue;
            }
            match form_of(s, defaults).validate() {
                Ok(o) => valid.push((id, o)),
                Err(Invalid(errors)) => problems.extend(errors.into_iter().map(|e| DirectoryProblem {
                    at: format!("contents[{i}]"),
                    field: e.field.to_string(),
                    key: e.key.to_string(),
                    args: e.args.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
                })),
            }
        }
        if !problems.is_empty() {
            return Err(Ok(problems));
        }
        let mut tx = self.store().write().await.map_err(|e| Err(e.into()))?;
        for (id, o) in &valid {
            let (_, created) =
                tx.save_opportunity(actor.organisation_id, o, Some(id)).await.map_err(|e| Err(e.into()))?;
            if created {
                report.created += 1;
            } else {
                report.updated += 1;
            }
        }
        let detail = format!("{} nuove, {} aggiornate, {} non attive", report.created, report.updated, report.skipped);
        record(&mut tx, actor, "import", "opportunity", None, "importazione di un elenco Open Referral", Some(detail))
            .await
            .map_err(Err)?;
        tx.commit().await.map_err(|e| Err(e.into()))?;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_stable_distinct_and_well_formed() {
        let a = uuid_for("service", 1);
        assert_eq!(a, uuid_for("service", 1));
        assert_ne!(a, uuid_for("service", 2));
        assert_ne!(a, uuid_for("location", 1));
        let parts: Vec<&str> = a.split('-').collect();
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12]);
        assert!(parts[2].starts_with('8'), "version 8: {a}");
        assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"), "variant: {a}");
    }

    #[test]
    fn a_foreign_service_takes_the_importers_choices_where_it_is_silent() {
        let s = json!({
            "id": "x1", "name": "Sportello lavoro", "status": "active",
            "email": "lavoro@comune.example.it",
            "languages": [{ "id": "l1", "code": "it" }, { "id": "l2", "code": "ar" }],
            "schedules": [{ "id": "s1", "byday": "MO,WE", "opens_at": "09:00", "closes_at": "12:00" }],
            "service_at_locations": [{ "id": "a", "location": { "id": "b", "location_type": "physical", "addresses": [{
                "id": "c", "address_1": "Piazza Aranci 1", "city": "Massa", "state_province": "Massa-Carrara",
                "postal_code": "54100", "country": "IT", "address_type": "physical" }] } }]
        });
        let d = DirectoryImportForm {
            kind: "lavoro".into(),
            axis: "formazione_lavoro".into(),
            capacity: "5".into(),
            territory: "1-MS".into(),
        };
        let f = form_of(&s, &d);
        assert_eq!((f.kind.as_str(), f.capacity.as_str(), f.territory.as_str()), ("lavoro", "5", "1-MS"));
        assert_eq!((f.address.as_str(), f.province.as_str()), ("Piazza Aranci 1", ""));
        assert_eq!((f.languages.as_str(), f.schedule.as_str()), ("it,ar", "MO,WE 09:00 12:00"));
        assert!(f.validate().is_ok());
    }
}
