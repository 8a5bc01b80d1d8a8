//! Multidimensional assessments (change over time, user class), coordination groups with
//! meetings, and the network dashboard with suppression.

use crate::support::TestApp;
use axum::http::StatusCode;
use serde_json::json;

/// Every item of the shipped instrument answered with `score`.
pub async fn answers(app: &TestApp, day: &str, score: i64, class: &str) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    m.insert("assessed_on".into(), json!(day));
    m.insert("user_class".into(), json!(class));
    for s in app.svc.assessment_instrument().await.expect("instrument").sections {
        for i in s.items {
            m.insert(i.code, json!(score.to_string()));
        }
    }
    serde_json::Value::Object(m)
}

#[tokio::test]
async fn assessments_show_change_over_time_and_set_the_user_class() {
    let app = TestApp::new().await;
    let anna_actor = app.actor("anna").await;
    let anna = app.api_client("anna").await;
    // Someone the demo has not assessed yet.
    let mut person = 0;
    for p in app.svc.followed(&anna_actor).await.expect("followed") {
        if anna.get(&format!("/api/v1/persons/{}/assessments", p.id)).await.json().as_array().is_some_and(Vec::is_empty)
        {
            person = p.id;
            break;
        }
    }
    assert!(person > 0, "a person without assessments");
    let today = percorsi_service::today();
    let earlier = (today - chrono::Duration::days(180)).format("%Y-%m-%d").to_string();
    let now = today.format("%Y-%m-%d").to_string();
    // Missing class and an item out of range are both named.
    let mut bad = answers(&app, &now, 2, "").await;
    bad["sal_fisica"] = json!("9");
    let r = anna.json("POST", &format!("/api/v1/persons/{person}/assessments"), bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("user_class") && r.body.contains("sal_fisica"), "{}", r.body);
    let r = anna
        .json(
            "POST",
            &format!("/api/v1/persons/{person}/assessments"),
            answers(&app, &earlier, 1, "td_alto_carico_bassa_dinamicita").await,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = anna
        .json(
            "POST",
            &format!("/api/v1/persons/{person}/assessments"),
            answers(&app, &now, 3, "td_basso_carico_alta_dinamicita").await,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    // The household (nucleo) goes with an assessment: refused when incoherent, kept when whole.
    let mut with_household = answers(&app, &now, 3, "td_basso_carico_alta_dinamicita").await;
    with_household["household_kind"] = json!("vive_solo");
    with_household["household_members"] = json!("3");
    with_household["household_minors"] = json!("0");
    let r = anna.json("POST", &format!("/api/v1/persons/{person}/assessments"), with_household.clone()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("household_members"), "{}", r.body);
    with_household["household_kind"] = json!("monogenitore_con_figli");
    with_household["household_minors"] = json!("2");
    with_household["household_note"] = json!("La nonna aiuta con i bambini");
    let r = anna.json("POST", &format!("/api/v1/persons/{person}/assessments"), with_household).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let list = anna.get(&format!("/api/v1/persons/{person}/assessments")).await.json();
    let list = list.as_array().expect("list");
    assert_eq!(list.len(), 3);
    assert_eq!(list[2]["household"]["kind"], "monogenitore_con_figli");
    assert!(list[1]["household"].is_null(), "not assessed is not an empty household");
    let page = app.login("anna").await.get(&format!("/persone/{person}")).await.body;
    assert!(page.contains("Nucleo: genitore solo con figli, 3 persone, 2 minori"), "shown on the pathway");
    assert_eq!(list[0]["scores"][0]["band"], "basso");
    assert_eq!(list[1]["scores"][0]["band"], "alto");
    assert_eq!(list[1]["scores"].as_array().map(Vec::len), Some(4), "four axes");
    // The pathway shows both, with the change, and the person's class is the latest.
    let page = app.login("anna").await.get(&format!("/persone/{person}")).await.body;
    assert!(page.contains("(+6)"), "change shown on the pathway");
    let pathway = anna.get(&format!("/api/v1/persons/{person}")).await.json();
    assert_eq!(pathway["person"]["user_class"], "td_basso_carico_alta_dinamicita", "{pathway}");
}

#[tokio::test]
async fn coordinators_keep_groups_and_minutes_and_see_a_suppressed_dashboard() {
    let app = TestApp::new().await;
    let coord = app.api_client("coordinatore").await;
    let faro = app.org_id("Il Faro").await;
    let sociale = app.org_id("Servizio sociale").await;
    let r = coord
        .json(
            "POST",
            "/api/v1/groups",
            json!({"name": "Gruppo permanente Massa", "territory": "1-MS", "members": [faro]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "two members at least");
    let r = coord
        .json(
            "POST",
            "/api/v1/groups",
            json!({"name": "Gruppo permanente Massa", "territory": "1-MS", "members": [faro, sociale]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let group = r.json()["id"].as_i64().expect("id");
    let r = coord
        .json(
            "POST",
            &format!("/api/v1/groups/{group}/meetings"),
            json!({"meeting_date": "2026-01-15", "minutes": "Condivisi i posti abitativi disponibili."}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let groups = coord.get("/api/v1/groups").await.json();
    assert!(groups.to_string().contains("Condivisi i posti abitativi"), "{groups}");
    assert!(groups.to_string().contains("SerD Zona 1-MS"), "the creator's organisation is a member");
    // The minutes are the members': a case manager of another organisation sees the group, not
    // what was said in it.
    let other = app.api_client("luca").await.get("/api/v1/groups").await.json();
    assert!(!other.to_string().contains("Condivisi i posti abitativi"), "{other}");
    let g = other.as_array().and_then(|l| l.iter().find(|g| g["group"]["id"] == group)).expect("group listed");
    assert!(g["meetings"].is_null(), "not an empty list: the minutes are withheld");
    let page = app.login("luca").await.get("/rete").await;
    assert!(!page.body.contains("Condivisi i posti abitativi"));
    // A case manager cannot write minutes.
    assert_eq!(
        app.api_client("anna")
            .await
            .json(
                "POST",
                &format!("/api/v1/groups/{group}/meetings"),
                json!({"meeting_date": "2026-01-15", "minutes": "x"})
            )
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // Dashboard: counts per organisation; no count between 1 and 4 is shown.
    let d = coord.get("/api/v1/network/dashboard").await.json();
    for row in d["grid"]["rows"].as_array().expect("rows") {
        for c in row["cells"].as_array().expect("cells") {
            if c["kind"] == "count" {
                let v = c["value"].as_i64().unwrap_or(0);
                assert!(v == 0 || v >= 5, "small count shown: {c}");
            }
        }
    }
    assert!(d["own"]["in_care"].as_i64().unwrap_or(0) > 0, "the coordinator's own figures are exact: {}", d["own"]);
    assert_eq!(d["by_axis"]["rows"].as_array().map(Vec::len), Some(5), "four axes and the total");
    // The outcomes of the projects: every objective by axis and last status; placements kept.
    assert_eq!(d["objectives"]["rows"].as_array().map(Vec::len), Some(5));
    let statuses: Vec<&str> =
        d["objectives"]["columns"].as_array().expect("columns").iter().filter_map(|c| c["code"].as_str()).collect();
    assert_eq!(statuses, ["non_avviato", "in_corso", "ostacolato", "raggiunto", "non_rilevato", "totale"]);
    assert_eq!(d["by_user_class"]["columns"].as_array().map(Vec::len), Some(5), "in care and the four axes");
    for key in ["objectives", "kept_6_months", "kept_12_months", "by_user_class"] {
        for row in d[key]["rows"].as_array().expect("rows") {
            for c in row["cells"].as_array().expect("cells") {
                let v = c["value"].as_i64().unwrap_or(0);
                assert!(c["kind"] != "count" || v == 0 || v >= 5, "{key}: small count shown: {c}");
            }
        }
    }
    let analyst = app.api_client("analista").await.get("/api/v1/network/dashboard").await.json();
    assert!(analyst["own"].is_null(), "analysts have no organisation of their own in care");
    assert_eq!(app.api_client("anna").await.get("/api/v1/network/dashboard").await.status, StatusCode::FORBIDDEN);
    let page = app.login("coordinatore").await.get("/rete").await.body;
    assert!(page.contains("Gruppo permanente Massa") && page.contains("Cruscotto della rete"));
}
