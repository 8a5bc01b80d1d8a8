//! The installation: a database and its key belong together, commands other than the ones
//! that create an installation never create an empty one, and `percorsi init` sets up a real
//! installation (first organisation and administrator) without the demo.

use crate::support::{postgres_url, TestApp};

fn run(cmd: &mut std::process::Command) -> (bool, String) {
    let out = cmd.output().expect("run percorsi");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn percorsi(db_url: &str, key: &std::path::Path) -> std::process::Command {
    let mut c = crate::support::percorsi_cli(db_url, key);
    c.args(["--lang", "en"]);
    c
}

#[tokio::test]
async fn a_missing_or_different_key_is_refused_on_a_database_with_data() {
    let app = TestApp::new().await;
    let dir = std::env::temp_dir().join(format!("percorsi-keys-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).expect("dir");

    let missing = dir.join("missing.key");
    for args in [&["migrate"][..], &["audit", "verify"][..]] {
        let (ok, text) = run(percorsi(&app.db_url, &missing).args(args));
        assert!(!ok, "{args:?} with a missing key must fail: {text}");
        assert!(text.contains("is missing") && text.contains("missing.key"), "{text}");
        assert!(!missing.exists(), "no new key is made for a database that has data");
    }

    let other = dir.join("other.key");
    std::fs::write(&other, hex_key(7)).expect("write key");
    let (ok, text) = run(percorsi(&app.db_url, &other).args(["audit", "verify"]));
    assert!(!ok, "{text}");
    assert!(text.contains("does not belong to this database"), "{text}");

    let (ok, text) = run(app.cli().args(["audit", "verify"]));
    assert!(ok, "the right key works: {text}");
    let _ = std::fs::remove_dir_all(dir);
}

fn hex_key(byte: u8) -> String {
    format!("{:0>64}\n", format!("{byte:02x}").repeat(32))
}

#[test]
fn commands_never_create_an_empty_database() {
    let dir = std::env::temp_dir().join(format!("percorsi-nodb-{}", rand::random::<u64>()));
    let db = dir.join("typo.db");
    let url = format!("sqlite://{}?mode=rwc", db.display());
    let (ok, text) = run(percorsi(&url, &dir.join("secret.key")).args(["audit", "verify"]));
    assert!(!ok, "{text}");
    assert!(text.contains("there is no database at"), "{text}");
    assert!(!db.exists() && !dir.join("secret.key").exists(), "nothing was created");
}

#[test]
fn init_sets_up_a_real_installation_once() {
    if postgres_url().is_some() {
        return; // Same code path; the SQLite run covers the fresh file.
    }
    let dir = std::env::temp_dir().join(format!("percorsi-init-{}", rand::random::<u64>()));
    let url = format!("sqlite://{}?mode=rwc", dir.join("percorsi.db").display());
    let key = dir.join("secret.key");
    let init = |password: &str| {
        use std::io::Write;
        let mut child = percorsi(&url, &key)
            .args(["init", "--organisation", "Agenzia regionale di sanità", "--kind", "agenzia_regionale"])
            .args(["--admin", "m.rossi", "--name", "Mario Rossi", "--password-stdin"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run percorsi");
        child.stdin.take().expect("stdin").write_all(format!("{password}\n").as_bytes()).expect("password");
        let out = child.wait_with_output().expect("wait");
        (
            out.status.success(),
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
        )
    };
    let (ok, text) = init("corta");
    assert!(!ok, "a short password is refused, naming the field: {text}");
    assert!(text.contains("(password)"), "{text}");
    let (ok, text) = init("una-password-lunga");
    assert!(ok, "{text}");
    assert!(text.contains("installation ready"), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("percorsi.db")).expect("db").permissions().mode();
        assert_eq!(mode & 0o077, 0, "the database holds health data: owner only ({mode:o})");
    }
    let (ok, text) = init("una-password-lunga");
    assert!(!ok && text.contains("already has organisations or users"), "{text}");
    let (ok, text) = run(percorsi(&url, &key).args(["user", "list"]));
    assert!(ok && text.contains("m.rossi") && text.contains("amministratore@Agenzia regionale di sanità"), "{text}");
    // The shipped forms are there without the demo: a case worker can record assessments.
    let (ok, text) = run(percorsi(&url, &key).args(["instrument", "list"]));
    for form in ["scheda_pre_intervento", "scheda_post_intervento", "valutazione_multidimensionale"] {
        assert!(ok && text.contains(form), "{form} missing: {text}");
    }
    let (ok, text) = run(percorsi(&url, &key).args(["audit", "verify"]));
    assert!(ok && text.contains("intact"), "{text}");
    let _ = std::fs::remove_dir_all(dir);
}
