//! The budget ledger under parallel requests, through HTTP, on the engine under test and with
//! two app servers (two stores, two routers) on one database: whatever the interleaving,
//! committed + paid + available = budget, available ≥ 0, nothing is released twice, a month
//! is paid once, and every loser is told so with 409, never 404 or 500.

use crate::support::{id_from_location, Client, Resp, TestApp};
use axum::http::StatusCode;
use chrono::{Datelike, Duration, NaiveDate};
use percorsi_domain::programme::{ParticipationForm, ProgrammeForm};

fn iso(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn today() -> NaiveDate {
    percorsi_service::today()
}

/// A programme where SerD Zona 1-MS has `budget` euros, and `n` proposed six-month
/// interventions at € 300 a month (€ 1.800 each) for people Anna follows.
async fn proposed(app: &TestApp, budget: &str, n: usize) -> (i64, Vec<i64>) {
    let coord = app.actor("coordinatore").await;
    let start = NaiveDate::from_ymd_opt(today().year() - 1, 1, 1).unwrap();
    let end = NaiveDate::from_ymd_opt(today().year() + 1, 12, 31).unwrap();
    let form = ProgrammeForm {
        name: format!("Concorrenza {budget}"),
        start_date: iso(start),
        end_date: iso(end),
        ..Default::default()
    };
    let programme = app.svc.create_programme(&coord, &form).await.unwrap();
    let participation = ParticipationForm {
        organisation_id: app.org_id("SerD Zona 1-MS").await.to_string(),
        budget: budget.into(),
        planned_inserimento_lavorativo: n.to_string(),
        ..Default::default()
    };
    app.svc.set_participation(&coord, programme, &participation).await.unwrap();
    let anna = app.actor("anna").await;
    let people = app.svc.followed(&anna).await.unwrap();
    // Work insertions are for people whose capacities were assessed (seed 001).
    for p in people.iter().take(n) {
        app.svc.assess_capacities(&anna, p.id, today() - Duration::days(10)).await.expect("assessed");
    }
    let host = app.org_id("Officine Apuane").await.to_string();
    let client = app.login("anna").await;
    let first = today() - Duration::days(40);
    let last = first.checked_add_months(chrono::Months::new(6)).unwrap() - Duration::days(1);
    let mut ids = Vec::new();
    for i in 0..n {
        let person = people[i % people.len()].id;
        let fields = [
            ("programme_id", programme.to_string()),
            ("intervention_type", "inserimento_lavorativo".into()),
            ("host_organisation_id", host.clone()),
            ("tutor_id", String::new()),
            ("planned_start", iso(first)),
            ("planned_end", iso(last)),
            ("weekly_days", "5".into()),
            ("weekly_hours", "20".into()),
            ("monthly_amount", "300".into()),
        ];
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = client.post(&format!("/persone/{person}/interventi"), &pairs).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        ids.push(id_from_location(&r.location()));
    }
    (programme, ids)
}

/// Anna signed in on each of two app servers over the same database.
async fn two_servers(app: &TestApp) -> [Client; 2] {
    let second = app.second_server().await;
    [app.login("anna").await, second.login("anna").await]
}

/// A form post to send: which server (client), where, and the fields.
type Post = (Client, String, Vec<(String, String)>);

/// Fires every request at once (on a multi-threaded runtime) and returns the answers in order.
async fn all_at_once(requests: Vec<Post>) -> Vec<Resp> {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(requests.len()));
    let handles: Vec<_> = requests
        .into_iter()
        .map(|(client, path, form)| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                client.post(&path, &pairs).await
            })
        })
        .collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("request task"));
    }
    out
}

fn form(fields: &[(&str, &str)]) -> Vec<(String, String)> {
    fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Every answer is a success (redirect) or a 409 that says why; returns how many succeeded.
fn successes(answers: &[Resp], why: &str) -> usize {
    for r in answers {
        assert!(
            r.status == StatusCode::SEE_OTHER || r.status == StatusCode::CONFLICT,
            "a lost race is a 409, never {}: {}",
            r.status,
            r.body
        );
        if r.status == StatusCode::CONFLICT {
            assert!(r.body.contains(why), "the 409 says what happened ({why}): {}", r.body);
        }
    }
    answers.iter().filter(|r| r.status == StatusCode::SEE_OTHER).count()
}

/// committed + paid + available = budget and available ≥ 0, for the programme as a whole.
async fn assert_balanced(
    app: &TestApp,
    programme: i64,
    budget_cents: i64,
) -> percorsi_service::programmes::ProgrammeOverview {
    let coord = app.actor("coordinatore").await;
    let o = app.svc.programme_overview(&coord, programme).await.unwrap();
    assert_eq!(o.total_outstanding + o.total.paid + o.total_available, budget_cents, "the budget balances");
    assert!(o.total_available >= 0, "never overspent: available {}", o.total_available);
    let mut tx = app.svc.store().read().await.unwrap();
    assert_eq!(tx.balances_out_of_step().await.unwrap(), vec![], "running totals agree with the ledger");
    assert_eq!(
        tx.counts_out_of_step().await.unwrap(),
        Vec::<i64>::new(),
        "running counts agree with the interventions"
    );
    tx.commit().await.unwrap();
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_activations_never_overspend() {
    let app = TestApp::new().await;
    // € 5.400 pays for three interventions of € 1.800; twelve ask at once, on two servers.
    let (programme, ids) = proposed(&app, "5.400", 12).await;
    let servers = two_servers(&app).await;
    let date = iso(today() - Duration::days(30));
    let requests = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let fields = form(&[("transition", "attiva"), ("date", &date)]);
            (servers[i % 2].clone(), format!("/interventi/{id}/stato"), fields)
        })
        .collect();
    let answers = all_at_once(requests).await;
    assert_eq!(successes(&answers, "non basta per impegnare"), 3, "exactly the three the budget covers");
    let o = assert_balanced(&app, programme, 540_000).await;
    assert_eq!((o.total_outstanding, o.total_available), (540_000, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_double_activation_commits_once() {
    let app = TestApp::new().await;
    let (programme, ids) = proposed(&app, "20.000", 1).await;
    let servers = two_servers(&app).await;
    let date = iso(today() - Duration::days(30));
    let requests = (0..8)
        .map(|i| {
            let fields = form(&[("transition", "attiva"), ("date", &date)]);
            (servers[i % 2].clone(), format!("/interventi/{}/stato", ids[0]), fields)
        })
        .collect();
    let answers = all_at_once(requests).await;
    assert_eq!(successes(&answers, "in stato «attivo»"), 1);
    let o = assert_balanced(&app, programme, 2_000_000).await;
    assert_eq!(o.total_outstanding, 180_000, "committed once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_month_is_paid_once_and_payments_never_race_an_interruption() {
    let app = TestApp::new().await;
    let (programme, ids) = proposed(&app, "20.000", 2).await;
    let servers = two_servers(&app).await;
    let start = today() - Duration::days(30);
    for id in &ids {
        let r = servers[0]
            .post(&format!("/interventi/{id}/stato"), &[("transition", "attiva"), ("date", &iso(start))])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    let month = start.format("%Y-%m").to_string();

    // The same month, eight times at once.
    let requests = (0..8)
        .map(|i| {
            let fields = form(&[("month", &month), ("amount", "300")]);
            (servers[i % 2].clone(), format!("/interventi/{}/erogazioni", ids[0]), fields)
        })
        .collect();
    let answers = all_at_once(requests).await;
    assert_eq!(successes(&answers, "già registrata"), 1, "one payment per month");
    assert_balanced(&app, programme, 2_000_000).await;

    // Payments of the remaining months racing the interruption of the same intervention.
    let second = ids[1];
    let mut requests: Vec<_> = (0..5)
        .map(|m| {
            let month = start.checked_add_months(chrono::Months::new(m)).unwrap().format("%Y-%m").to_string();
            let fields = form(&[("month", &month), ("amount", "300")]);
            (servers[m as usize % 2].clone(), format!("/interventi/{second}/erogazioni"), fields)
        })
        .collect();
    let end = iso(today());
    let interruption = form(&[
        ("end_date", &end),
        ("outcome", "interrotto"),
        ("interruption_reason", "problemi_azienda"),
        ("evaluation", "parzialmente_negativa"),
    ]);
    requests.insert(2, (servers[1].clone(), format!("/interventi/{second}/conclusione"), interruption));
    let answers = all_at_once(requests).await;
    for r in &answers {
        assert!(r.status == StatusCode::SEE_OTHER || r.status == StatusCode::CONFLICT, "{}: {}", r.status, r.body);
    }
    assert_eq!(answers[2].status, StatusCode::SEE_OTHER, "the interruption goes through: {}", answers[2].body);
    let anna = app.actor("anna").await;
    let money = app.svc.intervention(&anna, second).await.unwrap().money;
    assert_eq!(money.outstanding(), 0, "nothing stays committed to an interrupted intervention");
    let o = assert_balanced(&app, programme, 2_000_000).await;
    assert_eq!(o.total.paid, 30_000 + money.paid, "what was paid before the interruption, and nothing released twice");
    assert_eq!(o.total_outstanding, 180_000 - 30_000, "only the first intervention keeps money committed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_back_filling_the_report_extract_at_once_agree() {
    let app = TestApp::new().await;
    let programme = app.svc.programme_by_name("ARS Toscana 2011–2012 (dati storici)").await.expect("demo programme");
    let q = percorsi_service::reports::ReportQuery { programme_id: programme.id.to_string(), ..Default::default() };
    let system = || percorsi_service::reports::Viewer::System { suppress: false };
    let before = app.svc.export_report(system(), &q, "json").await.expect("report").report;
    assert!(before.interventions > Some(0));
    // Facts missing, as after an upgrade or a bulk load: both servers start and fill them.
    crate::support::sqlx_exec(&app.svc.store().clone(), "DELETE FROM report_facts").await;
    let second = app.second_server().await;
    let (a, b) = (app.svc.with_cold_cache(), second.svc.with_cold_cache());
    let (ra, rb) = tokio::join!(a.refresh_cache(), b.refresh_cache());
    ra.expect("first server back-fills");
    rb.expect("second server back-fills too, without a duplicate");
    for svc in [&a, &b] {
        let after = svc.export_report(system(), &q, "json").await.expect("report").report;
        let json = |r: &percorsi_domain::report::Report| serde_json::to_string(r).expect("JSON");
        assert_eq!(json(&after), json(&before), "the same report from the back-filled extract");
    }
}

/// Failed sign-ins racing on two app servers are each counted once (the throttle's counter is
/// one atomic upsert): what the throttle knows equals what the users were told.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_failed_sign_ins_on_two_servers_are_all_counted() {
    let app = TestApp::new().await;
    let second = app.second_server().await;
    let requests: Vec<Post> = (0..16)
        .map(|i| {
            let client = if i % 2 == 0 { app.client() } else { second.client() };
            (client, "/login".to_string(), form(&[("username", "luca"), ("password", "sbagliata-di-proposito")]))
        })
        .collect();
    let answers = all_at_once(requests).await;
    let refused = answers.iter().filter(|r| r.status == StatusCode::UNAUTHORIZED).count();
    for r in &answers {
        // On a saturated machine a password check may be refused as busy (503 with
        // Retry-After, the CPU guard of ADR 0012): an answer, checked nothing, counted nothing.
        assert!(
            matches!(
                r.status,
                StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
            ),
            "a failed sign-in is 401, 429 or 503 (busy), never {}",
            r.status
        );
        if r.status == StatusCode::SERVICE_UNAVAILABLE {
            assert!(r.headers.contains_key("retry-after"), "busy says when to retry");
        }
    }
    assert!(refused >= 1);
    let mut tx = app.svc.store().read().await.unwrap();
    let counted = tx.login_failures(&["user:luca".to_string()]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(counted.first().map(|(_, n, _)| *n), Some(refused as i64), "every checked failure counted once");
}

/// A transfer is decided once, whoever races: eight accept and decline requests at once over
/// two app servers give one decision, the others a 409 that says so; an accepted transfer
/// leaves exactly one open episode at the receiver. Proposals racing on one episode create one
/// transfer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_transfer_is_proposed_once_and_decided_once() {
    let app = TestApp::new().await;
    let anna = app.actor("anna").await;
    let luca = app.actor("luca").await;
    let person = app.svc.followed(&anna).await.unwrap().into_iter().find(|p| !p.anonymous).unwrap().id;
    let episode = app.svc.pathway(&anna, person).await.unwrap().manageable_episode.unwrap();
    let second = app.second_server().await;
    let senders = [app.login("anna").await, second.login("anna").await];
    let to = luca.organisation_id.to_string();
    let proposals = (0..6)
        .map(|i| {
            let fields = form(&[("to_organisation_id", &to), ("handover", "Passaggio"), ("person_agrees", "true")]);
            (senders[i % 2].clone(), format!("/episodi/{episode}/trasferimento"), fields)
        })
        .collect();
    let answers = all_at_once(proposals).await;
    assert_eq!(successes(&answers, "già un trasferimento in attesa"), 1, "one open transfer per episode");
    let transfer = app.svc.transfers(&luca).await.unwrap().into_iter().find(|t| t.person_id == person).unwrap();

    let receivers = [app.login("luca").await, second.login("luca").await];
    let me = luca.user_id.to_string();
    let decisions = (0..8)
        .map(|i| {
            let fields = if i % 2 == 0 {
                form(&[("decision", "accettato"), ("case_manager_id", &me)])
            } else {
                form(&[("decision", "rifiutato"), ("note", "Non di nostra competenza")])
            };
            (receivers[i % 2].clone(), format!("/trasferimenti/{}/esito", transfer.id), fields)
        })
        .collect();
    let answers = all_at_once(decisions).await;
    assert_eq!(successes(&answers, "già stato deciso"), 1, "decided once");
    let decided = app.svc.transfers(&luca).await.unwrap().into_iter().find(|t| t.id == transfer.id).unwrap();
    let episodes = app.svc.pathway(&anna, person).await.unwrap().episodes;
    let open_at_luca =
        episodes.iter().filter(|e| e.organisation_id == luca.organisation_id && e.end_date.is_none()).count();
    let annas = episodes.iter().find(|e| e.id == episode).unwrap();
    match decided.status.as_str() {
        "accettato" => {
            assert!(annas.end_date.is_some(), "the sender's episode closed");
            let luca_sees = app.svc.pathway(&luca, person).await.unwrap().episodes;
            assert_eq!(
                luca_sees.iter().filter(|e| e.organisation_id == luca.organisation_id && e.end_date.is_none()).count(),
                1,
                "exactly one episode opened"
            );
        }
        "rifiutato" => {
            assert!(annas.end_date.is_none(), "nothing changed");
            assert_eq!(open_at_luca, 0);
        }
        other => panic!("status {other}"),
    }
}
