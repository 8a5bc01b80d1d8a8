//! Main journeys in headless Chromium through chromedriver, against a real server on loopback.
//! Needs Debian's `chromium` and `chromium-driver`; scripts/test.sh sets PERCORSI_REQUIRE_BROWSER
//! so that a missing browser fails the run instead of skipping.

use crate::support::TestApp;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Driver {
    child: Child,
    url: String,
    profile: std::path::PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

async fn driver() -> Option<Driver> {
    let bin = std::env::var("PERCORSI_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    if !std::path::Path::new(&bin).exists() {
        assert!(std::env::var("PERCORSI_REQUIRE_BROWSER").is_err(), "chromedriver not found at {bin}");
        eprintln!("SKIPPED browser test: {bin} not installed (scripts/test.sh installs it)");
        return None;
    }
    let port = free_port();
    let child = Command::new(&bin)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let profile = std::env::temp_dir().join(format!("percorsi-chrome-{port}"));
    let d = Driver { child, url: format!("http://127.0.0.1:{port}"), profile };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(d);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start on port {port}");
}

async fn browser(d: &Driver) -> Client {
    let caps = json!({
        "goog:chromeOptions": {
            "binary": std::env::var("PERCORSI_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
                     format!("--user-data-dir={}", d.profile.display())]
        }
    });
    let caps = caps.as_object().cloned().expect("object");
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&d.url)
        .await
        .expect("WebDriver session")
}

async fn serve(app: &TestApp) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = app.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
    format!("http://{addr}")
}

async fn login(b: &Client, base: &str, user: &str) {
    b.goto(&format!("{base}/login")).await.expect("login page");
    b.find(Locator::Id("f-username")).await.expect("username field").send_keys(user).await.expect("type");
    b.find(Locator::Id("f-password"))
        .await
        .expect("password field")
        .send_keys(percorsi_service::demo::DEMO_PASSWORD)
        .await
        .expect("type");
    b.find(Locator::Css("form[action='/login'] button[type=submit]"))
        .await
        .expect("submit")
        .click()
        .await
        .expect("click");
    wait_text(b, "Esci").await;
}

async fn set_value(b: &Client, id: &str, value: &str) {
    b.execute("document.getElementById(arguments[0]).value = arguments[1];", vec![json!(id), json!(value)])
        .await
        .expect("set value");
}

/// Keeps a picture of the page under target/screenshots for people reviewing the UI.
async fn save_screenshot(b: &Client, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    if let Ok(png) = b.screenshot().await {
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(dir.join(format!("{name}.png")), png);
    }
}

/// Waits until the page (after a navigation) shows `text`; a page still being replaced just
/// means trying again.
async fn wait_text(b: &Client, text: &str) -> String {
    let mut last = String::new();
    for _ in 0..150 {
        if let Ok(body) = b.find(Locator::Css("body")).await {
            if let Ok(t) = body.text().await {
                if t.contains(text) {
                    return t;
                }
                last = t;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("page never showed {text:?}; last seen: {last}");
}

async fn body_text(b: &Client) -> String {
    b.find(Locator::Css("body")).await.expect("body").text().await.expect("text")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_manager_registers_a_person_and_another_organisation_cannot_find_them() {
    let Some(d) = driver().await else { return };
    let app = TestApp::new().await;
    let base = serve(&app).await;
    let b = browser(&d).await;

    login(&b, &base, "anna").await;
    let text = body_text(&b).await;
    assert!(text.contains("SerD Zona 1-MS"), "acting organisation visible: {text}");

    b.find(Locator::LinkText("Registra persona")).await.expect("nav link").click().await.expect("click");
    b.wait().for_element(Locator::Id("f-surname")).await.expect("form");
    b.find(Locator::Id("f-surname")).await.unwrap().send_keys("Montanari").await.unwrap();
    b.find(Locator::Id("f-name")).await.unwrap().send_keys("Elisa").await.unwrap();
    set_value(&b, "f-birth_date", "1986-11-03").await;
    b.find(Locator::Css("#f-sex option[value='F']")).await.unwrap().click().await.unwrap();
    b.find(Locator::Css("#f-substance_start option[value='alcol']")).await.unwrap().click().await.unwrap();
    b.find(Locator::Css("form[action='/persone'] button[type=submit]")).await.unwrap().click().await.unwrap();
    b.wait().for_element(Locator::Css(".person-head h1")).await.expect("pathway page");

    let text = body_text(&b).await;
    assert!(text.contains("Montanari Elisa"), "{text}");
    assert!(text.contains("Persona registrata e presa in carico"));
    assert!(text.contains("Prese in carico") && text.contains("Alcol"));
    let url = b.current_url().await.unwrap();
    let person_path = url.path().to_string();
    save_screenshot(&b, "pathway").await;

    b.find(Locator::LinkText("Home")).await.unwrap().click().await.unwrap();
    b.wait().for_element(Locator::Css("#followed-title")).await.unwrap();
    assert!(body_text(&b).await.contains("Montanari Elisa"), "listed on the case manager's home page");
    b.find(Locator::Css("form[action='/logout'] button")).await.unwrap().click().await.unwrap();
    b.wait().for_element(Locator::Id("f-username")).await.unwrap();

    login(&b, &base, "luca").await;
    b.goto(&format!("{base}/persone?q=Montanari")).await.unwrap();
    assert!(body_text(&b).await.contains("Nessuna persona trovata"));
    b.goto(&format!("{base}{person_path}")).await.unwrap();
    let text = body_text(&b).await;
    assert!(text.contains("non esiste oppure non è accessibile"), "{text}");
    assert!(!text.contains("Montanari"));
    b.close().await.expect("close browser");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_errors_are_announced_and_keyboard_reachable() {
    let Some(d) = driver().await else { return };
    let app = TestApp::new().await;
    let base = serve(&app).await;
    let b = browser(&d).await;
    login(&b, &base, "anna").await;
    b.goto(&format!("{base}/persone/nuova")).await.unwrap();
    b.find(Locator::Id("f-surname")).await.unwrap().send_keys("Rossi").await.unwrap();
    b.find(Locator::Id("f-fiscal_code")).await.unwrap().send_keys("RSSMRA85T10A562T").await.unwrap();
    b.find(Locator::Css("form[action='/persone'] button[type=submit]")).await.unwrap().click().await.unwrap();
    b.wait().for_element(Locator::Css(".error-summary")).await.expect("error summary");
    let summary = b.find(Locator::Css(".error-summary")).await.unwrap();
    assert_eq!(summary.attr("role").await.unwrap().as_deref(), Some("alert"));
    let text = summary.text().await.unwrap();
    assert!(text.contains("Codice fiscale") && text.contains("Nome: è obbligatorio"), "{text}");
    let focused = b.execute("return document.activeElement.className", vec![]).await.unwrap();
    assert_eq!(focused, json!("error-summary"), "focus moves to the summary");
    // The summary links lead to the fields.
    b.find(Locator::Css(".error-summary a[href='#f-name']")).await.expect("link to the field").click().await.unwrap();
    let kept = b.find(Locator::Id("f-surname")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some("Rossi"), "input kept");
    // A field in error is drawn in red, thicker, whatever its type (a later rule for text
    // inputs once took the red border away).
    let border = b
        .execute(
            "const s = getComputedStyle(document.getElementById('f-name')); return [s.borderTopWidth, s.borderTopColor];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(border[0], json!("2px"), "{border}");
    assert_ne!(border[1], json!("rgb(136, 148, 163)"), "not the plain grey border: {border}");
    b.close().await.expect("close browser");
}

async fn click(b: &Client, css: &str) {
    b.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

async fn choose_all(b: &Client, prefix_codes: &[&str], score: i64) {
    for code in prefix_codes {
        click(b, &format!("label[for='{code}-{score}']")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_manager_runs_an_intervention_from_proposal_to_scores() {
    let Some(d) = driver().await else { return };
    let app = TestApp::new().await;
    let base = serve(&app).await;
    let b = browser(&d).await;
    let anna = app.actor("anna").await;
    let person = app.svc.followed(&anna).await.unwrap().into_iter().find(|p| !p.anonymous).unwrap().id;
    let today = percorsi_service::today();
    login(&b, &base, "anna").await;

    b.goto(&format!("{base}/persone/{person}")).await.unwrap();
    b.find(Locator::LinkText("Nuovo intervento")).await.expect("plan link").click().await.unwrap();
    wait_text(&b, "Tipo e programma").await;
    click(&b, "#f-intervention_type option[value='inserimento_lavorativo']").await;
    b.find(Locator::XPath("//select[@id='f-host_organisation_id']/option[contains(., 'Officine Apuane')]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let start = today - chrono::Duration::days(20);
    let end = start.checked_add_months(chrono::Months::new(6)).unwrap() - chrono::Duration::days(1);
    set_value(&b, "f-planned_start", &start.format("%Y-%m-%d").to_string()).await;
    set_value(&b, "f-planned_end", &end.format("%Y-%m-%d").to_string()).await;
    click(&b, "form[action$='/interventi'] button[type=submit]").await;
    wait_text(&b, "Intervento proposto").await;

    // Activate.
    click(&b, "section[aria-labelledby='s-plan'] details summary").await;
    set_value(&b, "f-date", &start.format("%Y-%m-%d").to_string()).await;
    click(&b, "form[action$='/stato'] button[type=submit]").await;
    let text = wait_text(&b, "Intervento attivato").await;
    assert!(text.contains("€ 1.800,00"), "{text}");

    // Pre form: personal autonomy "poco autonomo" everywhere.
    b.find(Locator::LinkText("Scheda pre-intervento")).await.unwrap().click().await.unwrap();
    wait_text(&b, "Scegli per ogni domanda").await;
    let autonomy = ["aut_denaro", "aut_casa", "aut_servizi", "aut_appuntamenti", "aut_rete", "aut_tempo"];
    choose_all(&b, &autonomy, 2).await;
    click(&b, "form.scheda button[type=submit]").await;
    wait_text(&b, "Scheda salvata").await;

    // A relapse during the intervention.
    click(&b, "section[aria-labelledby='s-monitoring'] details summary").await;
    b.find(Locator::Id("f-relapse_count")).await.unwrap().send_keys("2").await.unwrap();
    click(&b, "form[action$='/monitoraggio'] button[type=submit]").await;
    wait_text(&b, "Ricadute e uso di sostanze aggiornati").await;

    // Conclude positively.
    click(&b, "label[for='o-pos']").await;
    click(&b, "#f-positive_kind option[value='completato']").await;
    click(&b, "#f-evaluation option[value='positiva']").await;
    click(&b, "form[action$='/conclusione'] button[type=submit]").await;
    let text = wait_text(&b, "Conclusione registrata").await;
    assert!(text.contains("Concluso positivamente"), "{text}");

    // Post form: A high, B medium, C low; autonomy improved to "del tutto autonomo".
    b.find(Locator::LinkText("Scheda post-intervento")).await.unwrap().click().await.unwrap();
    wait_text(&b, "C – Organizzazione dell'attività").await;
    choose_all(&b, &["a_puntualita", "a_orari", "a_regole", "a_attrezzature", "a_sicurezza"], 4).await;
    choose_all(&b, &["b_colleghi", "b_responsabili", "b_frustrazione", "b_aiuto", "b_motivazione"], 2).await;
    choose_all(&b, &["c_comprensione", "c_autonomia", "c_precisione", "c_organizzazione"], 1).await;
    choose_all(&b, &autonomy, 4).await;
    click(&b, "form.scheda button[type=submit]").await;
    wait_text(&b, "Scheda salvata").await;
    save_screenshot(&b, "intervention").await;
    let forms = b.find(Locator::Css("section[aria-labelledby='s-forms']")).await.unwrap().text().await.unwrap();
    assert!(forms.contains("Alto") && forms.contains("Medio"), "bands shown: {forms}");
    assert!(forms.contains("incompleta (4 di 5)"), "section C has a missing answer: {forms}");
    assert!(forms.contains("Miglioramento"), "autonomy pre/post comparison: {forms}");

    // The programme page shows the money moved by this intervention.
    b.goto(&format!("{base}/programmi")).await.unwrap();
    b.find(Locator::Css("main table a")).await.unwrap().click().await.unwrap();
    wait_text(&b, "Impegnato + erogato + disponibile = budget").await;
    save_screenshot(&b, "programme").await;
    b.close().await.expect("close browser");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyboard_sign_in_and_live_search_with_htmx() {
    let Some(d) = driver().await else { return };
    let app = TestApp::new().await;
    let base = serve(&app).await;
    let b = browser(&d).await;
    b.goto(&format!("{base}/login")).await.unwrap();
    // Keyboard only: the skip link comes first, then the fields in order, Enter submits.
    let active = || async {
        b.execute("return document.activeElement.id || document.activeElement.className", vec![]).await.unwrap()
    };
    b.find(Locator::Css("body")).await.unwrap().send_keys("\u{E004}").await.unwrap();
    assert_eq!(active().await, json!("skip-link"));
    b.find(Locator::Id("f-username")).await.unwrap().click().await.unwrap();
    b.find(Locator::Id("f-username")).await.unwrap().send_keys("anna\u{E004}").await.unwrap();
    assert_eq!(active().await, json!("f-password"));
    b.find(Locator::Id("f-password"))
        .await
        .unwrap()
        .send_keys(&format!("{}\u{E007}", percorsi_service::demo::DEMO_PASSWORD))
        .await
        .unwrap();
    b.wait().for_element(Locator::Css("#followed-title")).await.expect("signed in with the keyboard");

    // The list filters as one types (htmx, served from our own origin under the CSP) and the
    // URL follows, so the result can be bookmarked.
    let someone = app.named_person("anna").await;
    let surname = someone.surname.clone().unwrap();
    b.goto(&format!("{base}/persone")).await.unwrap();
    let before = b.find_all(Locator::Css("#results tbody tr")).await.unwrap().len();
    b.find(Locator::Id("f-q")).await.unwrap().send_keys(&surname).await.unwrap();
    let mut after = before;
    for _ in 0..150 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        after = b.find_all(Locator::Css("#results tbody tr")).await.unwrap().len();
        if after < before {
            break;
        }
    }
    assert!(after < before && after > 0, "live search narrowed {before} rows to {after}");
    assert!(b.current_url().await.unwrap().query().unwrap_or("").contains("q="), "URL updated");
    assert!(body_text(&b).await.contains(&surname));
    b.close().await.expect("close browser");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analyst_imports_a_historical_file_and_reads_the_report() {
    let Some(d) = driver().await else { return };
    let app = TestApp::new().await;
    let seed = crate::reports::seed_programme(&app).await;
    let base = serve(&app).await;
    let b = browser(&d).await;
    login(&b, &base, "analista").await;
    let dir = std::env::temp_dir().join(format!("percorsi-upload-{}", free_port()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let broken = dir.join("storico-errato.csv");
    let good = dir.join("storico.csv");
    std::fs::write(&broken, crate::reports::FIXTURE.replacen(";1-MS;", ";Zona inesistente;", 1)).expect("write");
    std::fs::write(&good, crate::reports::FIXTURE).expect("write");

    // A file with one wrong cell: the result says where, and nothing is written.
    b.goto(&format!("{base}/programmi/{}/importazione", seed.programme)).await.expect("import page");
    let input = b.find(Locator::Id("file")).await.expect("file field");
    input.send_keys(&broken.display().to_string()).await.expect("choose file");
    click(&b, "#import-form button[type=submit]").await;
    let text = wait_text(&b, "Il file contiene un errore").await;
    assert!(text.contains("Zona inesistente") && text.contains("Non è stato scritto nulla"), "{text}");
    let focused = b
        .execute("return document.activeElement.id || document.activeElement.getAttribute('aria-labelledby')", vec![])
        .await
        .expect("focus");
    assert_eq!(focused, json!("import-failed"), "the error summary takes the focus");
    save_screenshot(&b, "import-errors").await;

    // The right file: imported, then the report with its charts.
    let input = b.find(Locator::Id("file")).await.expect("file field");
    input.clear().await.ok();
    input.send_keys(&good.display().to_string()).await.expect("choose file");
    click(&b, "#import-form button[type=submit]").await;
    wait_text(&b, "Importazione completata").await;
    click(&b, "#import-result a").await;
    wait_text(&b, "Interventi attivati considerati:").await;
    let charts = b.find_all(Locator::Css("svg.report-chart")).await.expect("charts").len();
    assert!(charts >= 10, "{charts} charts");
    save_screenshot(&b, "report").await;
    b.execute("document.getElementById('t06').scrollIntoView()", vec![]).await.expect("scroll");
    save_screenshot(&b, "report-table-6").await;
    b.find(Locator::Css("#organisation_kind option[value='ente_ausiliario']"))
        .await
        .expect("option")
        .click()
        .await
        .expect("choose");
    click(&b, "form.filters button[type=submit]").await;
    // 33 interventions of the enti ausiliari, protected for the analyst: 31–35.
    let text = wait_text(&b, "Interventi attivati considerati: 3").await;
    assert!(text.contains("persone"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
    b.close().await.expect("close browser");
}

/// Fills a form's fields by name (radio groups take the chosen value) and submits it, the way
/// a person would after typing; the page's own markup and server-side validation are used.
async fn fill_and_submit(b: &Client, form: &str, fields: serde_json::Value) {
    b.execute(
        "const f = document.querySelector(arguments[0]); \
         for (const [k, v] of Object.entries(arguments[1])) { const el = f.elements[k]; if (el) { el.value = v; } } \
         f.submit();",
        vec![json!(form), fields],
    )
    .await
    .unwrap_or_else(|e| panic!("submit {form}: {e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn referral_consent_assessment_project_and_review_across_two_organisations() {
    let Some(d) = driver().await else { return };
    let app = TestApp::new().await;
    let base = serve(&app).await;
    let anna = app.actor("anna").await;
    // One of Anna's people that Il Faro does not see yet.
    let sara = app.actor("sara").await;
    let mut person = 0;
    for p in app.svc.followed(&anna).await.expect("followed").into_iter().filter(|p| p.surname.is_some()) {
        if app.svc.pathway(&sara, p.id).await.is_err() {
            person = p.id;
            break;
        }
    }
    assert!(person > 0);
    let faro = app.org_id("Il Faro").await.to_string();
    let today = percorsi_service::today();
    let day = |n: i64| (today + chrono::Duration::days(n)).format("%Y-%m-%d").to_string();
    let b = browser(&d).await;

    // Anna refers the person to Il Faro and records the person's consent for it.
    login(&b, &base, "anna").await;
    b.goto(&format!("{base}/persone/{person}")).await.expect("pathway");
    fill_and_submit(
        &b,
        &format!("form[action='/persone/{person}/segnalazioni']"),
        json!({"to_organisation_id": faro, "urgency": "urgente", "reason": "Serve un alloggio protetto"}),
    )
    .await;
    wait_text(&b, "Segnalazione inviata").await;
    fill_and_submit(&b, &format!("form[action='/persone/{person}/consensi']"), json!({"organisation_id": faro, "purpose": "progetto_personalizzato", "start_date": day(0), "expiry_date": day(365)})).await;
    wait_text(&b, "Comunità terapeutica Il Faro").await;
    click(&b, "form[action='/logout'] button").await;

    // Sara accepts from her triage list and works on the pathway she now sees.
    login(&b, &base, "sara").await;
    b.goto(&format!("{base}/segnalazioni")).await.expect("triage");
    wait_text(&b, "Serve un alloggio protetto").await;
    click(&b, "button[name='decision'][value='accettata']").await;
    wait_text(&b, "Esito della segnalazione registrato").await;
    b.goto(&format!("{base}/persone/{person}/valutazione")).await.expect("assessment");
    let answers = crate::network::answers(&app, &day(0), 3, "td_basso_carico_alta_dinamicita").await;
    fill_and_submit(&b, "form.scheda", answers).await;
    wait_text(&b, "Valutazione registrata").await;
    b.goto(&format!("{base}/persone/{person}/progetti")).await.expect("new project");
    fill_and_submit(
        &b,
        "form[action$='/progetti']",
        json!({"start_date": day(0), "end_date": day(300), "next_review": day(30),
               "o0_axis": "casa_habitat", "o0_title": "Un alloggio protetto", "o0_results": "Ingresso nel gruppo di convivenza", "o0_org": faro,
               "o1_axis": "affettivita_socialita", "o1_title": "Ricostruire i legami", "o1_results": "Un'attività di gruppo alla settimana", "o1_org": faro,
               "budget_casa_habitat": "1.500"}),
    )
    .await;
    let text = wait_text(&b, "Progetto salvato").await;
    assert!(text.contains("Casa/habitat") && text.contains("Affettività/socialità"), "two axes: {text}");
    let project_url = b.current_url().await.expect("url").path().to_string();
    fill_and_submit(&b, "form[action$='/verifiche']", json!({"review_date": day(0), "participants": "la persona, Il Faro", "next_review": day(90), "o0_outcome": "parzialmente_raggiunto", "o1_outcome": "raggiunto"})).await;
    let text = wait_text(&b, "Verifica registrata").await;
    assert!(text.contains("Parzialmente raggiunto") && text.contains("Raggiunto"), "{text}");
    save_screenshot(&b, "project").await;
    click(&b, "form[action='/logout'] button").await;

    // Luca, at an organisation without the person's consent, cannot open the project.
    login(&b, &base, "luca").await;
    b.goto(&format!("{base}{project_url}")).await.expect("project page");
    let text = wait_text(&b, "404").await;
    assert!(!text.contains("Un alloggio protetto"), "nothing of the project shows");
    b.close().await.expect("close browser");
}

async fn type_into(b: &Client, css: &str, text: &str) {
    b.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}")).send_keys(text).await.expect("type");
}

async fn sign_in_with_password(b: &Client, base: &str, user: &str) {
    b.goto(&format!("{base}/login")).await.expect("login page");
    type_into(b, "#f-username", user).await;
    type_into(b, "#f-password", &format!("{}\u{E007}", percorsi_service::demo::DEMO_PASSWORD)).await;
}

async fn sign_out(b: &Client) {
    click(b, "form[action='/logout'] button").await;
    wait_text(b, "Accedi").await;
}

/// ASVS V2.7/V2.8 as a person does it: an administrator is asked to set up the second factor,
/// scans the key, confirms a code, keeps the recovery codes; later signs in with the app's code,
/// and once with a recovery code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administrator_enrols_totp_signs_in_with_a_code_and_with_a_recovery_code() {
    let Some(d) = driver().await else { return };
    let app = TestApp::new().await.with_mfa_roles(percorsi_service::second_factor::DEFAULT_MFA_ROLES.to_vec());
    let base = serve(&app).await;
    let b = browser(&d).await;
    sign_in_with_password(&b, &base, "admin").await;
    wait_text(&b, "richiede la verifica in due passaggi").await;
    click(&b, "form[action='/account/mfa/inizia'] button").await;
    wait_text(&b, "Oppure inserisci a mano la chiave").await;
    assert!(b.find(Locator::Css("figure.qr svg")).await.is_ok(), "the QR code is drawn");
    let secret = b.find(Locator::Id("totp-secret")).await.expect("secret").text().await.expect("text");
    let bytes = totp_rs::Secret::Encoded(secret.replace(' ', "")).to_bytes().expect("base32");
    let app_codes = totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes).expect("totp");
    let now = || chrono::Utc::now().timestamp() as u64;
    type_into(&b, "#f-code", &format!("{}\u{E007}", app_codes.generate(now()))).await;
    wait_text(&b, "Codici di recupero").await;
    let codes = b.find(Locator::Id("recovery-codes")).await.expect("codes").text().await.expect("text");
    let codes: Vec<&str> = codes.split_whitespace().collect();
    assert_eq!(codes.len(), 10, "{codes:?}");
    save_screenshot(&b, "mfa-recovery-codes").await;
    click(&b, "a[href='/home']").await;
    wait_text(&b, "Amministratore di sistema").await;
    sign_out(&b).await;
    // The next sign-in asks the code: the app's next one (the first was spent).
    sign_in_with_password(&b, &base, "admin").await;
    wait_text(&b, "Codice di verifica").await;
    type_into(&b, "#f-code", &format!("{}\u{E007}", app_codes.generate(now() + 30))).await;
    wait_text(&b, "Amministratore di sistema").await;
    sign_out(&b).await;
    // Phone lost: a recovery code instead.
    sign_in_with_password(&b, &base, "admin").await;
    wait_text(&b, "Codice di verifica").await;
    type_into(&b, "#f-code", &format!("{}\u{E007}", codes[0])).await;
    wait_text(&b, "Amministratore di sistema").await;
    b.close().await.expect("close");
}

/// A new person at the computer: no session at Percorsi nor at the provider.
async fn forget_cookies(b: &Client, origins: &[&str]) {
    for origin in origins {
        b.goto(&format!("{origin}/.well-known/openid-configuration")).await.expect("origin");
        b.delete_all_cookies().await.expect("forget cookies");
    }
}

/// The test identity provider (tests/oidc-provider), started for one test.
struct Provider {
    child: Child,
    issuer: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn identity_provider(redirect_uri: &str, secret: &str) -> Option<Provider> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc-provider");
    if !dir.join("node_modules/oidc-provider").exists() {
        assert!(std::env::var("PERCORSI_REQUIRE_BROWSER").is_err(), "run `npm ci --prefix {}`", dir.display());
        eprintln!("SKIPPED single sign-on test: the provider's packages are not installed (scripts/install-deps.sh)");
        return None;
    }
    let port = free_port();
    let child = Command::new("node")
        .arg("provider.mjs")
        .current_dir(&dir)
        .env("PORT", port.to_string())
        .env("REDIRECT_URI", redirect_uri)
        .env("CLIENT_SECRET", secret)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start node");
    let p = Provider { child, issuer: format!("http://127.0.0.1:{port}") };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(p);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the identity provider did not start on port {port}");
}

/// Single sign-on through a real OpenID Connect provider: a linked identity signs in, an
/// unlinked one is refused and nothing is created for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_sign_in_through_the_regions_identity_provider() {
    let Some(d) = driver().await else { return };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let secret = "a-client-secret-for-the-test";
    let Some(provider) = identity_provider(&format!("{base}/login/sso/callback"), secret).await else { return };
    let app = TestApp::new().await.with_sso(percorsi_service::sso::SsoSettings {
        issuer: provider.issuer.clone(),
        client_id: "percorsi".into(),
        client_secret: secret.into(),
        redirect_url: format!("{base}/login/sso/callback"),
        claim: "fiscal_number".into(),
        label: "Login Regione".into(),
    });
    let anna = app.actor("anna").await;
    app.svc.link_sso(&app.actor("admin").await, anna.user_id, "TINIT-ANNA").await.expect("link");
    let router = app.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
    let b = browser(&d).await;
    for (who, expect) in [("anna", "Anna Bianchi"), ("mario", "Nessun account Percorsi è collegato")] {
        // A new person at the computer: no session here nor at the provider.
        forget_cookies(&b, &[&provider.issuer, &base]).await;
        b.goto(&format!("{base}/login")).await.expect("login page");
        click(&b, "#sso").await;
        // The provider's own sign-in page, then its consent page.
        wait_text(&b, "Sign-in").await;
        type_into(&b, "input[name=login]", who).await;
        type_into(&b, "input[name=password]", "anything\u{E007}").await;
        wait_text(&b, "Authorize").await;
        click(&b, "button[type=submit]").await;
        wait_text(&b, expect).await;
    }
    save_screenshot(&b, "sso-unknown-identity").await;
    // Signed in through the provider, a sensitive action later asks the provider again.
    forget_cookies(&b, &[&provider.issuer, &base]).await;
    b.goto(&format!("{base}/login")).await.expect("login page");
    click(&b, "#sso").await;
    wait_text(&b, "Sign-in").await;
    type_into(&b, "input[name=login]", "anna").await;
    type_into(&b, "input[name=password]", "anything\u{E007}").await;
    wait_text(&b, "Authorize").await;
    click(&b, "button[type=submit]").await;
    wait_text(&b, "Anna Bianchi").await;
    let old = (chrono::Utc::now() - chrono::Duration::minutes(11)).to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    crate::support::sqlx_exec(app.svc.store(), &format!("UPDATE sessions SET authenticated_at = '{old}'")).await;
    b.goto(&format!("{base}/conferma?next=/persone/emergenza")).await.expect("confirm page");
    wait_text(&b, "Conferma che sei tu").await;
    click(&b, "a[href^='/login/sso?reauth=1']").await;
    wait_text(&b, "Sign-in").await;
    type_into(&b, "input[name=login]", "anna").await;
    type_into(&b, "input[name=password]", "anything\u{E007}").await;
    wait_text(&b, "Identità confermata").await;
    let url = b.current_url().await.expect("url");
    assert!(url.path() == "/persone/emergenza", "{url}");
    let users = app.svc.cli_users().await.expect("users");
    assert!(users.iter().all(|u| u.user.username != "mario"), "nobody is created by signing in");
    b.close().await.expect("close");
}

/// The person's rights on the person page: rectifying a misspelt surname (the details open
/// with the keyboard, the form keeps the page's ids unique) and producing the person's copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_manager_rectifies_an_identity_and_prints_the_persons_copy() {
    let Some(d) = driver().await else { return };
    let app = TestApp::new().await;
    let base = serve(&app).await;
    let b = browser(&d).await;
    let anna = app.actor("anna").await;
    let person = app.svc.followed(&anna).await.unwrap().into_iter().find(|p| !p.anonymous).unwrap();
    let surname = person.surname.clone().unwrap_or_default();

    login(&b, &base, "anna").await;
    b.goto(&format!("{base}/persone/{}", person.id)).await.unwrap();
    b.wait().for_element(Locator::Css(".person-head h1")).await.expect("pathway page");
    let duplicates: Vec<String> = serde_json::from_value(
        b.execute(
            "const seen = {}; const dup = []; document.querySelectorAll('[id]').forEach(e => { if (seen[e.id]) dup.push(e.id); seen[e.id] = 1; }); return dup;",
            vec![],
        )
        .await
        .expect("script"),
    )
    .expect("list");
    assert!(duplicates.is_empty(), "ids on the person page are unique: {duplicates:?}");

    b.find(Locator::XPath("//summary[contains(., 'Rettifica dei dati identificativi')]"))
        .await
        .expect("summary")
        .click()
        .await
        .unwrap();
    let field = b.find(Locator::Css("form[action$='/rettifica'] input[name='surname']")).await.expect("surname field");
    field.clear().await.unwrap();
    field.send_keys(&format!("{surname}i")).await.unwrap();
    b.find(Locator::Css("form[action$='/rettifica'] input[name='reason']"))
        .await
        .unwrap()
        .send_keys("cognome trascritto male, verificato su documento")
        .await
        .unwrap();
    click(&b, "form[action$='/rettifica'] button[type=submit]").await;
    let text = wait_text(&b, "Dati identificativi rettificati").await;
    assert!(text.contains(&format!("{surname}i")), "the corrected surname is shown: {text}");

    b.find(Locator::LinkText("Copia dei dati per la persona (art. 15 GDPR)"))
        .await
        .expect("link")
        .click()
        .await
        .unwrap();
    let text = wait_text(&b, "Copia dei dati della persona").await;
    for part in ["Interventi", "Chi ha consultato la scheda", "Dati personali, episodi di cura, équipe e consensi"] {
        assert!(text.contains(part), "{part}");
    }
    save_screenshot(&b, "person-copy").await;
    b.close().await.expect("close browser");
}

/// The person on a phone: the case manager creates an invitation, the person activates their
/// page in a phone-sized window (nothing scrolls sideways), reads their project, revokes a
/// consent, and the organisation that held it loses the record at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_activates_their_page_on_a_phone_and_revokes_a_consent() {
    let Some(d) = driver().await else { return };
    let app = TestApp::new().await;
    let (person, consent) = crate::own_page::person_with_project_and_consent(&app).await;
    let base = serve(&app).await;
    let b = browser(&d).await;

    login(&b, &base, "anna").await;
    b.goto(&format!("{base}/persone/{person}")).await.expect("person page");
    click(&b, "form[action$='/invito'] button[type=submit]").await;
    wait_text(&b, "Codice di invito per la persona").await;
    let code = b.find(Locator::Id("invitation-code")).await.expect("code").text().await.expect("text");
    sign_out(&b).await;

    b.set_window_size(390, 844).await.expect("phone-sized window");
    let password = "Il mio telefono 2026!";
    b.goto(&format!("{base}/invito")).await.expect("invitation page");
    type_into(&b, "#f-invitation_code", &code).await;
    type_into(&b, "#f-username", "lucia.telefono").await;
    type_into(&b, "#f-password", password).await;
    click(&b, "form[action='/invito'] button[type=submit]").await;
    wait_text(&b, "La tua pagina è attiva").await;
    type_into(&b, "#f-username", "lucia.telefono").await;
    type_into(&b, "#f-password", &format!("{password}\u{E007}")).await;
    let text = wait_text(&b, "Il mio progetto").await;
    assert!(text.contains("Progetto con") && text.contains("I miei consensi"), "{text}");
    let sideways: bool = b
        .execute("return document.documentElement.scrollWidth > window.innerWidth;", vec![])
        .await
        .expect("script")
        .as_bool()
        .expect("bool");
    assert!(!sideways, "the person's page fits a 390 px screen");
    save_screenshot(&b, "own-page-phone").await;

    assert_eq!(app.api_client("sara").await.get(&format!("/api/v1/persons/{person}")).await.status, 200);
    click(&b, &format!("form[action='/io/consensi/{consent}/revoca'] button")).await;
    wait_text(&b, "Consenso revocato").await;
    assert_eq!(
        app.api_client("sara").await.get(&format!("/api/v1/persons/{person}")).await.status,
        404,
        "the organisation lost the record when the person revoked the consent"
    );
    b.close().await.expect("close browser");
}

/// axe-core, vendored (tests/it/vendor): the accessibility rules run on every main page.
const AXE: &str = include_str!("vendor/axe.min.js");

/// The serious and critical WCAG 2.1 A/AA violations axe finds on the page shown, each with
/// up to three of the elements concerned.
async fn accessibility_violations(b: &Client) -> Vec<String> {
    b.execute(AXE, vec![]).await.expect("axe loads");
    let found = b
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
               .then(r => done(r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))))
               .catch(e => done(['axe failed: ' + e]));",
            vec![],
        )
        .await
        .expect("axe runs");
    serde_json::from_value(found).unwrap_or_else(|e| vec![format!("unreadable axe answer: {e}")])
}

/// The main pages of every working role, on a phone (390×844) and a laptop (1366×900): none
/// scrolls sideways, axe finds no serious or critical WCAG 2.1 A/AA violation, and each is
/// kept as a screenshot (`target/screenshots/<size>-<role>-<page>.png`, CI artefacts).
#[tokio::test]
async fn main_pages_fit_phone_and_laptop_and_pass_the_accessibility_scan() {
    let Some(d) = driver().await else { return };
    let app = TestApp::new().await;
    let anna = app.actor("anna").await;
    let coordinator = app.actor("coordinatore").await;
    let people: Vec<String> =
        app.svc.followed(&anna).await.expect("followed").iter().map(|p| format!("/persone/{}", p.id)).collect();
    let intervention = app.svc.organisation_interventions(&anna).await.expect("interventions")[0].id;
    let mut project = None;
    for p in app.svc.followed(&anna).await.expect("followed") {
        if let Some(pr) = app.svc.projects_of_person(&anna, p.id).await.expect("projects").first() {
            project = Some(pr.id);
            break;
        }
    }
    let project = project.expect("a demo project");
    let programme = app.svc.programmes(&coordinator).await.expect("programmes")[0].id;
    let base = serve(&app).await;
    let b = browser(&d).await;
    let main_pages = |user: &str| -> Vec<String> {
        match user {
            "anna" => vec![
                "/home".into(),
                "/persone".into(),
                "/persone/nuova".into(),
                "/interventi".into(),
                format!("/interventi/{intervention}"),
                format!("/progetti/{project}"),
                format!("/progetti/{project}/stampa"),
                "/segnalazioni".into(),
                "/notifiche".into(),
                "/note".into(),
                "/opportunita".into(),
                "/programmi".into(),
                "/account".into(),
                "/account/notifiche".into(),
            ],
            "coordinatore" => vec![
                "/home".into(),
                format!("/programmi/{programme}"),
                "/interventi".into(),
                "/rete".into(),
                format!("/report?programme_id={programme}"),
            ],
            "analista" => vec!["/home".into(), format!("/report/confronto?table=1&programmes={programme}")],
            "davide" => vec!["/home".into(), "/interventi".into()],
            _ => vec!["/home".into(), "/audit".into(), "/audit/emergenze".into()],
        }
    };
    let mut wide = Vec::new();
    let mut inaccessible = Vec::new();
    let mut visited = 0;
    for (size, (w, h)) in [("phone", (390u32, 844u32)), ("laptop", (1366, 900))] {
        b.set_window_size(w, h).await.expect("window size");
        for user in ["anna", "coordinatore", "analista", "davide", "auditor"] {
            login(&b, &base, user).await;
            let mut paths = main_pages(user);
            if user == "anna" {
                // Every person Anna follows on the phone; two of them on the laptop.
                paths.extend(people.iter().take(if size == "phone" { people.len() } else { 2 }).cloned());
            }
            for path in paths {
                b.goto(&format!("{base}{path}")).await.expect("page");
                b.wait().for_element(Locator::Css("main")).await.expect("main");
                visited += 1;
                let overflow = b
                    .execute(
                        "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
                        vec![],
                    )
                    .await
                    .expect("script")
                    .as_i64()
                    .unwrap_or(0);
                if overflow > 0 {
                    // The elements sticking out, to say where to look.
                    let culprits = b
                        .execute(
                            "const w = document.documentElement.clientWidth; return Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > w + 1 && !(e.parentElement && e.parentElement.closest('.table-wrap') && getComputedStyle(e).position !== 'absolute')).slice(0, 4).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + String(e.className).replace(/ /g, '.') : '')).join(', ');",
                            vec![],
                        )
                        .await
                        .expect("script");
                    wide.push(format!(
                        "{size} {path} ({user}): {overflow} px too wide: {}",
                        culprits.as_str().unwrap_or("")
                    ));
                }
                let name: String = path
                    .trim_start_matches('/')
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                    .collect();
                save_screenshot(&b, &format!("{size}-{user}-{name}")).await;
                // One scan per page (the rules do not depend on the width, the layout does).
                if size == "laptop" || !path.starts_with("/persone/") || path == people[0] {
                    for v in accessibility_violations(&b).await {
                        inaccessible.push(format!("{size} {path} ({user}): {v}"));
                    }
                }
            }
            sign_out(&b).await;
        }
    }
    assert!(visited >= 48, "main pages visited at two sizes: {visited}");
    assert!(wide.is_empty(), "pages that scroll sideways:\n{}", wide.join("\n"));
    assert!(inaccessible.is_empty(), "serious or critical accessibility violations:\n{}", inaccessible.join("\n"));
    b.close().await.expect("close browser");
}

/// A case moves to another organisation through the pages: Anna writes a note only she may
/// read and proposes the transfer with the person's agreement; Luca accepts it from his triage
/// list and finds the person in his organisation's care, without Anna's note.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_is_transferred_to_another_organisation_and_a_private_note_stays_private() {
    let Some(d) = driver().await else { return };
    let app = TestApp::new().await;
    let base = serve(&app).await;
    let luca = app.actor("luca").await;
    let person = app.named_person("anna").await.id;
    let today = percorsi_service::today().format("%Y-%m-%d").to_string();
    let b = browser(&d).await;
    login(&b, &base, "anna").await;
    b.goto(&format!("{base}/persone/{person}")).await.expect("pathway");
    fill_and_submit(
        &b,
        &format!("form[action='/persone/{person}/note']"),
        json!({"note_date": today, "visibility": "autore", "body": "Solo per me: richiamare giovedì"}),
    )
    .await;
    wait_text(&b, "Nota salvata").await;
    let form = "form[action$='/trasferimento']";
    b.execute(
        "const f = document.querySelector(arguments[0]); f.elements['to_organisation_id'].value = arguments[1]; \
         f.elements['handover'].value = 'Si trasferisce a Livorno dalla sorella'; f.elements['person_agrees'].checked = true; f.submit();",
        vec![json!(form), json!(luca.organisation_id.to_string())],
    )
    .await
    .expect("transfer form");
    wait_text(&b, "Trasferimento proposto").await;
    sign_out(&b).await;

    login(&b, &base, "luca").await;
    b.goto(&format!("{base}/segnalazioni")).await.expect("triage");
    wait_text(&b, "Si trasferisce a Livorno dalla sorella").await;
    click(&b, "button[name='decision'][value='accettato']").await;
    let text = wait_text(&b, "Caso accettato").await;
    assert!(text.contains("SerD Zona 6-LI"), "the person's page shows Luca's organisation's episode: {text}");
    assert!(!text.contains("richiamare giovedì"), "Anna's private note stays hers");
    save_screenshot(&b, "transfer-accepted").await;
    b.close().await.expect("close browser");
}
