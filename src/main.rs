//! The `percorsi` command: serve the application and operate it.

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use percorsi_domain::codes::Role;
use percorsi_domain::user::UserForm;
use percorsi_service::{keyfile, Service, ServiceError, Store};
use percorsi_web::i18n::{I18n, Lang};
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

mod bench;
mod load;

#[derive(Parser)]
#[command(name = "percorsi", version, about = "Percorsi — shared information system for social reintegration pathways")]
struct Cli {
    /// Database URL: sqlite://path?mode=rwc (embedded default) or postgres://user:pass@host/db.
    #[arg(long, env = "PERCORSI_DATABASE_URL", default_value = "sqlite://data/percorsi.db?mode=rwc", global = true)]
    database_url: String,
    /// File holding the installation secret for pseudonymous codes (created at first start).
    /// Keep it outside the database and back it up apart from it.
    #[arg(long, env = "PERCORSI_SECRET_FILE", default_value = "data/secret.key", global = true)]
    secret_file: PathBuf,
    /// Directory of signed documents' files (content-addressed). Default: `documents` beside
    /// the SQLite database; with PostgreSQL, a directory every app server mounts at this path.
    #[arg(long, env = "PERCORSI_DOCUMENTS_DIR", global = true)]
    documents_dir: Option<PathBuf>,
    /// Log format: text or json.
    #[arg(long, env = "PERCORSI_LOG_FORMAT", default_value = "text", global = true)]
    log_format: String,
    /// Language of command-line messages (it or en); defaults from LANG.
    #[arg(long, env = "PERCORSI_LANG", global = true)]
    lang: Option<String>,
    #[command(subcommand)]
    command: Command,
}

/// Where e-mails leave from, and the address links in e-mails and webhooks point to.
#[derive(clap::Args)]
struct MailArgs {
    /// Mail server: `smtp://host:25` (plain, a relay on this machine or the LAN),
    /// `smtp://host:587?tls=required` (STARTTLS) or `smtps://host:465`; user and password as
    /// `smtp://user:password@host`. Without it e-mails wait in the outbox.
    #[arg(long, env = "PERCORSI_SMTP_URL", hide_env_values = true)]
    smtp_url: Option<String>,
    /// The sender of the e-mails.
    #[arg(long, env = "PERCORSI_MAIL_FROM", default_value = "Percorsi <percorsi@localhost>")]
    mail_from: String,
}

impl MailArgs {
    /// `public_url`: where links in e-mails and webhook payloads point (`--public-url`).
    fn config(&self, public_url: String) -> percorsi_service::deliveries::DeliveryConfig {
        percorsi_service::deliveries::DeliveryConfig {
            smtp_url: self.smtp_url.clone(),
            mail_from: self.mail_from.clone(),
            public_url,
        }
    }
}

/// Delivers the outbox every few seconds and, from 7 in the morning, prepares the day's
/// digests; errors (the database busy or down) are logged and the next round tries again.
async fn deliver_forever(svc: percorsi_service::Service, deliverer: percorsi_service::deliveries::Deliverer) {
    use chrono::Timelike;
    let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_digest_check = None;
    loop {
        every.tick().await;
        let now = chrono::Local::now();
        let minute = (now.date_naive(), now.hour(), now.minute());
        if now.hour() >= 7 && last_digest_check != Some(minute) {
            last_digest_check = Some(minute);
            if let Err(e) = svc.prepare_digests().await {
                tracing::warn!(error = %e, "could not prepare the daily digests");
            }
        }
        match svc.deliver_due(&deliverer).await {
            Ok(r) if r.delivered + r.retrying + r.failed + r.deferred > 0 => {
                tracing::info!(
                    delivered = r.delivered,
                    retrying = r.retrying,
                    failed = r.failed,
                    deferred = r.deferred,
                    "deliveries"
                )
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not deliver the outbox"),
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Start the web application (migrates the database first).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "PERCORSI_BIND", default_value = "127.0.0.1:8080")]
        bind: String,
        /// Load the demo network into an empty database and print the demo logins.
        #[arg(long)]
        demo: bool,
        /// Mark cookies Secure (set when served over HTTPS).
        #[arg(long, env = "PERCORSI_SECURE_COOKIES")]
        secure_cookies: bool,
        /// Plain-HTTP cookies even when listening beyond loopback (a lab without HTTPS only).
        #[arg(long, env = "PERCORSI_INSECURE_COOKIES", conflicts_with = "secure_cookies")]
        insecure_cookies: bool,
        /// Requests served at once; past it, 503 with Retry-After at once.
        #[arg(long, env = "PERCORSI_MAX_IN_FLIGHT", default_value_t = 128)]
        max_in_flight: usize,
        /// Token a metrics scraper sends as `Authorization: Bearer …`; without it /metrics is off.
        #[arg(long, env = "PERCORSI_METRICS_TOKEN", hide_env_values = true)]
        metrics_token: Option<String>,
        /// How long a break-the-glass (emergency) access lasts, in hours (1–24).
        #[arg(long, env = "PERCORSI_GLASS_HOURS", default_value_t = 3, value_parser = clap::value_parser!(i64).range(1..=24))]
        glass_hours: i64,
        /// Roles that must sign in with a second factor (comma-separated role codes, or
        /// "none" for a laboratory installation without HTTPS-grade users). Organisations can
        /// require it of every role on top of these.
        #[arg(long, env = "PERCORSI_MFA_ROLES", default_value = "amministratore,auditor,analista", value_parser = parse_roles)]
        mfa_roles: RoleList,
        /// The k of the analysts' extract: every row shares sex, age class, organisation and
        /// months with at least k − 1 others (generalised as needed; rows still alone are left out).
        #[arg(long, env = "PERCORSI_EXTRACT_K", default_value_t = 5, value_parser = clap::value_parser!(u16).range(2..=100))]
        extract_k: u16,
        #[command(flatten)]
        sso: SsoArgs,
        #[command(flatten)]
        mail: MailArgs,
    },
    /// Create or upgrade the database schema.
    Migrate,
    /// Set up a real installation: its first organisation and administrator (empty database only).
    Init {
        /// Name of the first organisation (e.g. the regional health agency running Percorsi).
        #[arg(long)]
        organisation: String,
        /// Its kind code (e.g. agenzia_regionale, azienda_sanitaria, ausl_serd).
        #[arg(long)]
        kind: String,
        /// Zone or district, if any.
        #[arg(long, default_value = "")]
        territory: String,
        /// The administrator's username.
        #[arg(long)]
        admin: String,
        /// The administrator's full name.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        password: PasswordArg,
    },
    /// Write a verified, consistent copy of the database while it is in use.
    Backup {
        /// The copy to write (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
    /// Put a verified backup in place of the (stopped) SQLite database.
    Restore {
        /// The backup file.
        #[arg(long)]
        from: PathBuf,
        /// Replace an existing database.
        #[arg(long)]
        force: bool,
    },
    /// Load the demo network into an empty database.
    Demo,
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCmd),
    /// List organisations (ids are needed by `user add`).
    Orgs,
    /// Manage API tokens for machine clients.
    #[command(subcommand)]
    Token(TokenCmd),
    /// Audit trail operations.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Retention of personal data (docs/privacy.md)
    #[command(subcommand)]
    Retention(RetentionCmd),
    /// Fill an empty database with seeded synthetic data for benchmarks.
    BenchData {
        #[arg(long, default_value_t = 100)]
        organisations: usize,
        #[arg(long, default_value_t = 10_000)]
        persons: usize,
        #[arg(long, default_value_t = 10_000)]
        interventions: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Time the main pages over data made by `bench-data` (through the full HTTP stack, in process).
    Bench {
        #[arg(long, default_value_t = 30)]
        iterations: usize,
    },
    /// Time failed sign-ins for an unknown name, a disabled account and a wrong password (they
    /// must take the same time); a measurement, not a test.
    BenchLogin {
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=10_000))]
        tries: u64,
    },
    /// Instruments (the pre/post forms), versioned data files.
    #[command(subcommand)]
    Instrument(InstrumentCmd),
    /// Write the outcome report (seed 001's fourteen tables) of a programme to a file.
    Report(ReportArgs),
    /// Import a historical programme from a CSV file (docs/import-format.md). All or nothing.
    Import {
        /// Programme name or id.
        #[arg(long)]
        programme: String,
        /// The account the imported interventions are attributed to (written in the audit trail).
        #[arg(long)]
        user: String,
        /// Write the per-row error report (CSV: line, column, value, problem) here as well.
        #[arg(long)]
        errors: Option<PathBuf>,
        /// No server is running on this database: write without the pauses that let a running
        /// server's writes in between chunks (SQLite: 50 ms per 2,000 rows, 25 s per million).
        #[arg(long)]
        offline: bool,
        file: PathBuf,
    },
    /// Open-loop load against running servers over HTTP (see scripts/bench-load.sh).
    BenchLoad {
        /// Server base URL; repeat to spread the load over several app servers.
        #[arg(long = "url", required = true)]
        urls: Vec<String>,
        /// Request rates (req/s), one phase each.
        #[arg(long, value_delimiter = ',', default_value = "100,300,500,1000")]
        rates: Vec<u32>,
        /// Length of each phase.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// API token of a case manager (`percorsi token create --user cm1 …`).
        #[arg(long, env = "PERCORSI_BENCH_TOKEN")]
        token: String,
        /// API token of an analyst, for the report tables.
        #[arg(long, env = "PERCORSI_BENCH_ANALYST_TOKEN")]
        analyst_token: String,
        /// Share of report-table requests in the mix, in percent.
        #[arg(long, default_value_t = 1)]
        report_percent: u32,
    },
    /// Measure the outcome reports and the import over synthetic data of a given size.
    BenchReports {
        #[arg(long, default_value_t = 100_000)]
        interventions: usize,
        #[arg(long, default_value_t = 100)]
        organisations: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        #[arg(long, default_value_t = 10)]
        iterations: usize,
        /// Also write the generated import file here.
        #[arg(long)]
        csv_out: Option<PathBuf>,
        /// No server is running on this database: import as `percorsi import --offline` does.
        #[arg(long)]
        offline: bool,
    },
}

#[derive(Args)]
struct ReportArgs {
    /// Programme name or id.
    #[arg(long)]
    programme: String,
    /// json, csv or xlsx.
    #[arg(long, default_value = "xlsx")]
    format: String,
    /// Output file ("-" for standard output).
    #[arg(long)]
    out: PathBuf,
    /// Only this table (1–14).
    #[arg(long)]
    table: Option<u8>,
    /// Interventions started on or after (YYYY-MM-DD).
    #[arg(long)]
    from: Option<String>,
    /// Interventions started on or before (YYYY-MM-DD).
    #[arg(long)]
    to: Option<String>,
    /// Organisation ids, comma separated.
    #[arg(long)]
    organisations: Option<String>,
    /// Organisation kind code (e.g. ausl_serd, ente_ausiliario).
    #[arg(long)]
    kind: Option<String>,
    /// Intervention type code.
    #[arg(long = "type")]
    intervention_type: Option<String>,
    /// Columns by `kind` (default) or `organisation`.
    #[arg(long, default_value = "kind")]
    by: String,
    /// Exact counts, without small-cell suppression (only for use inside the data controller).
    #[arg(long)]
    exact: bool,
}

#[derive(Subcommand)]
enum InstrumentCmd {
    /// Load a new instrument version from a JSON file (see instruments/README.md).
    Load { file: PathBuf },
    /// List loaded instruments and versions.
    List,
}

#[derive(Subcommand)]
enum UserCmd {
    /// Create a user with a first role in an organisation.
    Add {
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: String,
        /// Organisation id (see `percorsi orgs`).
        #[arg(long)]
        org: String,
        /// Role code: case_manager, operatore, tutor_aziendale, coordinatore, analista, amministratore, auditor.
        #[arg(long)]
        role: String,
        #[command(flatten)]
        password: PasswordArg,
    },
    /// List users and their roles.
    List,
    /// Set a user's password (and clear any lock-out).
    SetPassword {
        username: String,
        #[command(flatten)]
        password: PasswordArg,
    },
    /// Deactivate a user: their sessions end at once.
    Disable { username: String },
    /// Reactivate a user.
    Enable { username: String },
    /// Remove a user's second factor (authenticator and recovery codes lost — also the last
    /// administrator's): their sessions end and they enrol again at the next sign-in.
    ResetSecondFactor { username: String },
}

#[derive(Args)]
struct PasswordArg {
    /// Read the password from the first line of standard input (recommended).
    #[arg(long, conflicts_with = "password")]
    password_stdin: bool,
    /// The password (visible in the process list: prefer --password-stdin).
    #[arg(long)]
    password: Option<String>,
}

impl PasswordArg {
    fn read(&self) -> anyhow::Result<String> {
        if let Some(p) = &self.password {
            return Ok(p.clone());
        }
        if self.password_stdin {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).context("reading the password from standard input")?;
            return Ok(line.trim_end_matches(['\r', '\n']).to_string());
        }
        bail!("give the password with --password-stdin (or --password)")
    }
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Create a token acting as a user's role in an organisation; printed once.
    Create {
        #[arg(long)]
        user: String,
        /// Organisation id, when the user has roles in several.
        #[arg(long)]
        org: Option<i64>,
        /// Role code, when the user has several.
        #[arg(long)]
        role: Option<String>,
        /// A name to recognise the client by.
        #[arg(long)]
        name: String,
        /// Days until the token expires (1–365); tokens always expire.
        #[arg(long, default_value_t = percorsi_service::auth::DEFAULT_TOKEN_DAYS, value_parser = clap::value_parser!(i64).range(1..=365))]
        days: i64,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by id; its clients are refused from the next request.
    Revoke { id: i64 },
}

#[derive(Subcommand)]
enum RetentionCmd {
    /// Remove what identifies people whose last care episode ended long enough ago: contacts
    /// after --contacts-years, the whole identity (and the codes derived from it) after
    /// --identity-years. The pseudonymous record stays, so outcome reports do not change.
    Run {
        /// Only list what would be removed.
        #[arg(long)]
        dry_run: bool,
        #[arg(long, env = "PERCORSI_RETAIN_IDENTITY_YEARS", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100))]
        identity_years: u32,
        #[arg(long, env = "PERCORSI_RETAIN_CONTACTS_YEARS", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=100))]
        contacts_years: u32,
    },
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Verify the hash chain, and against anchors kept elsewhere if given; exits with status 1
    /// and names the first broken link or the anchor the trail no longer agrees with.
    Verify {
        /// A file of anchors written by `audit anchor --out` (one JSON line each); repeatable.
        #[arg(long)]
        anchor: Vec<std::path::PathBuf>,
    },
    /// Record the chain's head (entries, last id, hash) where the database's administrator
    /// cannot rewrite it: printed, appended to a file on another volume, and/or piped to a
    /// command (mail, write-once bucket). Run it on a schedule (docs/security.md).
    Anchor {
        /// Append the anchor to this file (created if missing) and flush it to disk.
        #[arg(long, env = "PERCORSI_ANCHOR_FILE")]
        out: Option<std::path::PathBuf>,
        /// Run this shell command with the anchor on its standard input; a failure fails the command.
        #[arg(long, env = "PERCORSI_ANCHOR_COMMAND")]
        command: Option<String>,
    },
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PERCORSI_LOG")
        .unwrap_or_else(|_| "info,sqlx=error,tower_http=info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Whether a command may create the database and its key (`serve`, `migrate`, `demo`, `init`)
/// or needs an existing installation (everything else: a typo in a path must not silently
/// create an empty database and answer "intact: 0 entries").
#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    MayCreate,
    Existing,
}

async fn open(cli: &Cli, mode: Open) -> anyhow::Result<Service> {
    if let Some(path) = cli.database_url.strip_prefix("sqlite://") {
        let file = std::path::Path::new(path.split('?').next().unwrap_or(""));
        if !file.exists() {
            if mode == Open::Existing {
                bail!(
                    "there is no database at {}: check --database-url (PERCORSI_DATABASE_URL), or create one with \
                     `percorsi init` or `percorsi serve`",
                    file.display()
                );
            }
            create_private_file(file)?;
        }
    }
    let store = Store::connect(&cli.database_url)
        .await
        .with_context(|| format!("connecting to {}", percorsi_service::store::redact(&cli.database_url)))?;
    store.migrate().await.context("migrating the database")?;
    let key = keyfile::bind(&store, &cli.secret_file, mode == Open::MayCreate).await?;
    let files = percorsi_service::documents::DirectoryFiles::new(documents_dir(cli));
    let svc = Service::new(store, key).with_documents(std::sync::Arc::new(files));
    if mode == Open::MayCreate {
        // The forms shipped with this version (a new version's forms at the first start after
        // an upgrade): without them no assessment can be recorded.
        svc.ensure_instruments().await.map_err(|e| anyhow::anyhow!("loading the shipped forms: {e}"))?;
    }
    Ok(svc)
}

/// Where signed documents' files are: `--documents-dir`, or beside the SQLite database, or
/// `data/documents` for PostgreSQL.
fn documents_dir(cli: &Cli) -> PathBuf {
    if let Some(dir) = &cli.documents_dir {
        return dir.clone();
    }
    match cli.database_url.strip_prefix("sqlite://") {
        Some(path) => {
            let file = std::path::Path::new(path.split('?').next().unwrap_or(path));
            file.parent().unwrap_or(std::path::Path::new(".")).join("documents")
        }
        None => PathBuf::from("data/documents"),
    }
}

/// Creates an empty SQLite file readable only by the service's account: it will hold health data.
fn create_private_file(file: &std::path::Path) -> anyhow::Result<()> {
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(file).with_context(|| format!("creating {}", file.display()))?;
    Ok(())
}

fn lang(cli: &Cli) -> Lang {
    cli.lang.as_deref().or(std::env::var("LANG").ok().as_deref()).and_then(Lang::parse).unwrap_or(Lang::En)
}

/// Turns a service error into a message a person understands, naming the fields.
fn explain(cli: &Cli, e: ServiceError) -> anyhow::Error {
    let i18n = I18n::new();
    let lang = lang(cli);
    match e {
        ServiceError::Invalid(inv) => {
            let lines: Vec<String> = i18n
                .field_errors(lang, &inv)
                .into_iter()
                .map(|m| format!("  {} ({}): {}", m.label, m.field, m.message))
                .collect();
            anyhow::anyhow!("{}\n{}", i18n.t(lang, "err-invalid-input", &[]), lines.join("\n"))
        }
        ServiceError::NotFound => anyhow::anyhow!("{}", i18n.t(lang, "err-not-found", &[])),
        ServiceError::Conflict(key) => anyhow::anyhow!("{}", i18n.t(lang, key, &[])),
        other => anyhow::anyhow!(other),
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Serve {
            bind,
            demo,
            secure_cookies,
            insecure_cookies,
            max_in_flight,
            metrics_token,
            glass_hours,
            mfa_roles,
            extract_k,
            sso,
            mail,
        } => {
            let secure_cookies = cookies_secure(bind, *secure_cookies, *insecure_cookies);
            let mut svc = open(&cli, Open::MayCreate)
                .await?
                .with_glass_hours(*glass_hours)
                .with_mfa_roles(mfa_roles.0.clone())
                .with_extract_k(usize::from(*extract_k));
            if let Some(settings) = sso.settings(bind, secure_cookies)? {
                tracing::info!(issuer = %settings.issuer, claim = %settings.claim, "single sign-on through OpenID Connect");
                svc = svc.with_sso(settings).map_err(|e| anyhow::anyhow!("single sign-on: {e}"))?;
            }
            if *demo {
                if svc.load_demo().await.map_err(|e| explain(&cli, e))? {
                    tracing::info!("demo network loaded");
                }
                print_demo_logins(bind);
            }
            let app = percorsi_web::router(
                svc.clone(),
                percorsi_web::WebConfig {
                    secure_cookies,
                    max_in_flight: *max_in_flight,
                    metrics_token: metrics_token.clone(),
                    mail_enabled: mail.smtp_url.is_some(),
                },
            );
            let deliverer = percorsi_service::deliveries::Deliverer::new(
                &mail.config(sso.public_url(bind, secure_cookies)),
                percorsi_web::mail_texts::mail_texts(),
            )
            .map_err(|e| anyhow::anyhow!("e-mail and webhooks: {e}"))?;
            if !deliverer.mail_enabled() {
                tracing::info!("no mail server configured (--smtp-url): e-mails wait in the outbox");
            }
            tokio::spawn(deliver_forever(svc.clone(), deliverer));
            let listener = tokio::net::TcpListener::bind(bind).await.with_context(|| format!("listening on {bind}"))?;
            tracing::info!(address = %bind, engine = ?svc.store().backend(), "Percorsi is serving");
            // Load the report extract now, so the first report does not wait for it.
            let warm = svc.clone();
            tokio::spawn(async move {
                let started = std::time::Instant::now();
                match warm.refresh_cache().await {
                    Ok(()) => tracing::info!(ms = started.elapsed().as_millis() as u64, "report extract loaded"),
                    Err(e) => tracing::warn!(error = %e, "could not load the report extract"),
                }
            });
            return_memory_after_bursts();
            let purge = svc.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
                loop {
                    every.tick().await;
                    if let Err(e) = purge.purge_expired_sessions().await {
                        tracing::warn!(error = %e, "could not purge expired sessions");
                    }
                    // An import whose process died before publishing left invisible rows.
                    if let Err(e) = purge.discard_abandoned_imports().await {
                        tracing::warn!(error = %e, "could not discard abandoned imports");
                    }
                    if let Err(e) = purge.purge_bulk_exports().await {
                        tracing::warn!(error = %e, "could not delete expired FHIR bulk exports");
                    }
                }
            });
            // The peer address reaches the handlers for per-address sign-in throttling.
            let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
            axum::serve(listener, app).with_graceful_shutdown(shutdown()).await?;
            svc.store().close().await;
        }
        Command::Init { organisation, kind, territory, admin, name, password } => {
            let svc = open(&cli, Open::MayCreate).await?;
            let org = percorsi_domain::organisation::OrganisationForm {
                name: organisation.clone(),
                kind: kind.clone(),
                parent_id: String::new(),
                territory: territory.clone(),
            };
            let user = UserForm {
                username: admin.clone(),
                display_name: name.clone(),
                password: password.read()?,
                organisation_id: String::new(),
                role: String::new(),
            };
            let (org_id, _) = svc.init_installation(&org, &user).await.map_err(|e| explain(&cli, e))?;
            println!("installation ready: organisation {organisation} (id {org_id}), administrator {admin}");
            println!("start it with `percorsi serve` and sign in as {admin}");
        }
        Command::Backup { out } => backup(&cli, out).await?,
        Command::Restore { from, force } => restore(&cli, from, *force).await?,
        Command::Migrate => {
            open(&cli, Open::MayCreate).await?;
            println!("database is up to date");
        }
        Command::Demo => {
            let svc = open(&cli, Open::MayCreate).await?;
            if svc.load_demo().await.map_err(|e| explain(&cli, e))? {
                println!("demo network loaded");
                print_demo_logins("127.0.0.1:8080");
            } else {
                println!("the database already has organisations: demo data not loaded");
            }
        }
        Command::Orgs => {
            let svc = open(&cli, Open::Existing).await?;
            for o in svc.organisations().await.map_err(|e| explain(&cli, e))? {
                println!("{:>4}  {:<22} {}{}", o.id, o.kind, o.name, if o.active { "" } else { " (inactive)" });
            }
        }
        Command::User(cmd) => {
            let svc = open(&cli, Open::Existing).await?;
            match cmd {
                UserCmd::Add { username, name, org, role, password } => {
                    let form = UserForm {
                        username: username.clone(),
                        display_name: name.clone(),
                        password: password.read()?,
                        organisation_id: org.clone(),
                        role: role.clone(),
                    };
                    let id = svc.cli_add_user(&form).await.map_err(|e| explain(&cli, e))?;
                    println!("user {} created (id {id})", form.username.trim().to_lowercase());
                }
                UserCmd::List => {
                    for u in svc.cli_users().await.map_err(|e| explain(&cli, e))? {
                        let roles: Vec<String> = u
                            .memberships
                            .iter()
                            .map(|m| {
                                format!(
                                    "{}@{}{}",
                                    m.role,
                                    m.organisation_name,
                                    if m.active { "" } else { " (revoked)" }
                                )
                            })
                            .collect();
                        println!(
                            "{:<16} {:<28} {:<9} {}",
                            u.user.username,
                            u.user.display_name,
                            if u.user.active { "active" } else { "disabled" },
                            roles.join(", ")
                        );
                    }
                }
                UserCmd::SetPassword { username, password } => {
                    svc.cli_set_password(username, &password.read()?).await.map_err(|e| explain(&cli, e))?;
                    println!("password set for {username}");
                }
                UserCmd::Disable { username } => {
                    svc.cli_set_active(username, false).await.map_err(|e| explain(&cli, e))?;
                    println!("{username} disabled");
                }
                UserCmd::ResetSecondFactor { username } => {
                    svc.cli_reset_second_factor(username).await.map_err(|e| explain(&cli, e))?;
                    println!("second factor removed for {username}: they set it up again at the next sign-in");
                }
                UserCmd::Enable { username } => {
                    svc.cli_set_active(username, true).await.map_err(|e| explain(&cli, e))?;
                    println!("{username} enabled");
                }
            }
        }
        Command::Token(TokenCmd::Create { user, org, role, name, days }) => {
            let svc = open(&cli, Open::Existing).await?;
            let role = match role {
                Some(r) => Some(Role::parse(r).with_context(|| format!("unknown role {r:?}"))?),
                None => None,
            };
            let m = svc.cli_membership(user, *org, role).await.map_err(|e| explain(&cli, e))?;
            let token = svc.create_api_token(m.id, name, *days).await.map_err(|e| explain(&cli, e))?;
            eprintln!("token for {} as {} at {} — shown only once:", m.username, m.role, m.organisation_name);
            println!("{token}");
        }
        Command::BenchData { organisations, persons, interventions, seed } => {
            let svc = open(&cli, Open::MayCreate).await?;
            if !svc.organisations().await.map_err(|e| explain(&cli, e))?.is_empty() {
                bail!("bench-data needs an empty database");
            }
            let started = std::time::Instant::now();
            let size = percorsi_service::synthetic::Size {
                organisations: *organisations,
                persons: *persons,
                interventions: *interventions,
            };
            let g = svc.generate(size, *seed).await.map_err(|e| explain(&cli, e))?;
            let secs = started.elapsed().as_secs_f64();
            println!(
                "generated {} organisations, {} persons, {} interventions (programme {}) in {secs:.1} s ({:.0} persons+interventions/s)",
                g.organisations,
                g.persons,
                g.interventions,
                g.programme_id,
                (g.persons + g.interventions) as f64 / secs
            );
        }
        Command::Bench { iterations } => {
            let svc = open(&cli, Open::Existing).await?;
            bench::run(svc, *iterations).await?;
        }
        Command::BenchLogin { tries } => {
            let svc = open(&cli, Open::Existing).await?;
            bench::login_timing(svc, *tries as usize).await?;
        }
        Command::Instrument(InstrumentCmd::Load { file }) => {
            let svc = open(&cli, Open::Existing).await?;
            let src = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
            let i = svc.load_instrument(None, &src).await.map_err(|e| explain(&cli, e))?;
            println!("loaded {} v{} ({})", i.code, i.version, i.kind);
        }
        Command::Instrument(InstrumentCmd::List) => {
            let svc = open(&cli, Open::Existing).await?;
            for (id, i) in svc.list_instruments().await.map_err(|e| explain(&cli, e))? {
                println!("{id:>4}  {:<24} v{:<3} {:<16} {} sections", i.code, i.version, i.kind, i.sections.len());
            }
        }
        Command::Token(TokenCmd::List) => {
            let svc = open(&cli, Open::Existing).await?;
            for t in svc.api_tokens().await.map_err(|e| explain(&cli, e))? {
                let state = match (&t.revoked_at, &t.expires_at) {
                    (Some(r), _) => format!("revoked {r}"),
                    (None, Some(e)) => format!("expires {e}"),
                    (None, None) => "no expiry".into(),
                };
                println!(
                    "{:>4}  {:<20} {}@{} ({})  created {}  {state}",
                    t.id, t.name, t.username, t.organisation_name, t.role, t.created_at
                );
            }
        }
        Command::Token(TokenCmd::Revoke { id }) => {
            let svc = open(&cli, Open::Existing).await?;
            svc.revoke_api_token(*id).await.map_err(|e| explain(&cli, e))?;
            println!("token {id} revoked");
        }
        Command::Report(a) => {
            let svc = open(&cli, Open::Existing).await?;
            let lang = lang(&cli);
            if !matches!(a.format.as_str(), "json" | "csv" | "xlsx") {
                bail!("--format must be json, csv or xlsx");
            }
            let programme = svc.programme_by_name(&a.programme).await.map_err(|e| explain(&cli, e))?;
            let q = percorsi_service::reports::ReportQuery {
                programme_id: programme.id.to_string(),
                from: a.from.clone().unwrap_or_default(),
                to: a.to.clone().unwrap_or_default(),
                organisations: a.organisations.clone().unwrap_or_default(),
                organisation_kind: a.kind.clone().unwrap_or_default(),
                intervention_type: a.intervention_type.clone().unwrap_or_default(),
                by: a.by.clone(),
                table: a.table.map(|n| n.to_string()).unwrap_or_default(),
            };
            let viewer = percorsi_service::reports::Viewer::System { suppress: !a.exact };
            let view = svc.export_report(viewer, &q, &a.format).await.map_err(|e| explain(&cli, e))?;
            let i18n = I18n::new();
            let resolved = percorsi_web::report_view::resolve(&i18n, lang, &view);
            let table = a.table.map(|n| n.to_string()).unwrap_or_default();
            let body = percorsi_web::report_view::file(&i18n, lang, &resolved, &table, &a.format)
                .with_context(|| format!("no table {table}: choose 1–14"))?;
            if a.out.as_os_str() == "-" {
                use std::io::Write;
                std::io::stdout().write_all(&body)?;
            } else {
                std::fs::write(&a.out, &body).with_context(|| format!("writing {}", a.out.display()))?;
                eprintln!(
                    "{}: {} interventions, {} tables, {}{} → {}",
                    programme.name,
                    view.report.interventions.map_or_else(|| "<5".to_string(), |n| n.to_string()),
                    if table.is_empty() { 14 } else { 1 },
                    a.format,
                    if view.report.suppressed { ", small cells suppressed" } else { ", exact" },
                    a.out.display()
                );
            }
        }
        Command::Import { programme, user, errors, offline, file } => {
            let svc = open(&cli, Open::Existing).await?;
            let lang = lang(&cli);
            let programme = svc.programme_by_name(programme).await.map_err(|e| explain(&cli, e))?;
            let data = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let started = std::time::Instant::now();
            let importer = percorsi_service::import::Importer::Cli { username: user, shared: !offline };
            let outcome =
                svc.import_history(importer, programme.id, &name, &data).await.map_err(|e| explain(&cli, e))?;
            let secs = started.elapsed().as_secs_f64();
            let i18n = I18n::new();
            let lines: Vec<[String; 4]> = outcome
                .errors
                .iter()
                .map(|e| {
                    let args: Vec<(&str, String)> = e.args.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
                    [e.line.to_string(), e.column.clone(), e.value.clone(), i18n.t(lang, &e.key, &args)]
                })
                .collect();
            if let Some(path) = errors {
                let mut w = csv::Writer::from_path(path).with_context(|| format!("writing {}", path.display()))?;
                w.write_record(["line", "column", "value", "problem"])?;
                for l in &lines {
                    w.write_record(l)?;
                }
                w.flush()?;
            }
            if outcome.written {
                println!(
                    "{}: {} rows, {} added, {} already present, {} new people ({secs:.1} s, {:.0} rows/s)",
                    name,
                    outcome.rows,
                    outcome.added,
                    outcome.present,
                    outcome.persons_added,
                    outcome.rows as f64 / secs.max(1e-9)
                );
            } else {
                eprintln!("{}", i18n.t(lang, "import-failed", &[("n", outcome.error_count.to_string())]));
                eprintln!("{}", i18n.t(lang, "import-nothing-written", &[]));
                for [line, column, value, why] in lines.iter().take(50) {
                    eprintln!("  {line}:{column} «{value}» — {why}");
                }
                if outcome.error_count > 50 {
                    eprintln!("  … {} more (use --errors FILE for the whole list)", outcome.error_count - 50);
                }
                return Ok(ExitCode::from(1));
            }
        }
        Command::BenchLoad { urls, rates, seconds, token, analyst_token, report_percent } => {
            let args = load::LoadArgs {
                urls: urls.clone(),
                rates: rates.clone(),
                seconds: *seconds,
                token: token.clone(),
                analyst_token: analyst_token.clone(),
                report_percent: *report_percent,
            };
            load::run(args).await?;
        }
        Command::BenchReports { interventions, organisations, seed, iterations, csv_out, offline } => {
            let svc = open(&cli, Open::MayCreate).await?;
            let size = bench::ReportSize {
                offline: *offline,
                interventions: *interventions,
                organisations: *organisations,
                seed: *seed,
            };
            bench::reports(svc, &cli.database_url, size, *iterations, csv_out.as_deref()).await?;
        }
        Command::Audit(AuditCmd::Verify { anchor }) => {
            let anchors = read_anchors(anchor)?;
            let svc = open(&cli, Open::Existing).await?;
            let report = svc.verify_audit().await.map_err(|e| explain(&cli, e))?;
            if let Some(b) = report.first_broken {
                println!(
                    "audit trail BROKEN at entry {} ({}); {} earlier entries intact",
                    b.id, b.reason, report.entries
                );
                return Ok(ExitCode::from(1));
            }
            let findings = svc.check_anchors(&anchors).await.map_err(|e| explain(&cli, e))?;
            for f in &findings {
                let a = &f.anchor;
                let what = match f.problem {
                    "truncated" => "is no longer in the trail: its last entries were removed",
                    "rewritten" => "has another hash: the trail was rewritten",
                    _ => "has fewer entries before it than were anchored: entries were removed",
                };
                println!(
                    "audit trail BROKEN: entry {} anchored at {} ({} entries, hash {}) {what}",
                    a.last_id, a.at, a.entries, a.hash
                );
            }
            if !findings.is_empty() {
                return Ok(ExitCode::from(1));
            }
            match anchors.iter().max_by_key(|a| a.last_id) {
                Some(latest) => println!(
                    "audit trail intact: {} entries verified; agrees with {} anchors (latest {}, entry {})",
                    report.entries,
                    anchors.len(),
                    latest.at,
                    latest.last_id
                ),
                None => println!(
                    "audit trail intact: {} entries verified (without an anchor, removing the last entries cannot be detected)",
                    report.entries
                ),
            }
        }
        Command::Retention(RetentionCmd::Run { dry_run, identity_years, contacts_years }) => {
            if contacts_years > identity_years {
                bail!("--contacts-years ({contacts_years}) cannot be longer than --identity-years ({identity_years}): contacts go with the identity");
            }
            let svc = open(&cli, Open::Existing).await?;
            let policy = percorsi_service::retention::RetentionPolicy {
                identity_years: *identity_years,
                contacts_years: *contacts_years,
            };
            let out =
                svc.run_retention(policy, percorsi_service::today(), *dry_run).await.map_err(|e| explain(&cli, e))?;
            let verb = if out.dry_run { "would remove" } else { "removed" };
            println!(
                "retention{}: {verb} the identity of {} people (last episode ended before {}) and the contacts of {} more (before {})",
                if out.dry_run { " (dry run)" } else { "" },
                out.anonymised.len(),
                out.identity_cutoff,
                out.contacts_removed.len(),
                out.contacts_cutoff
            );
        }
        Command::Audit(AuditCmd::Anchor { out, command }) => {
            let svc = open(&cli, Open::Existing).await?;
            let anchor = svc.audit_anchor("cli").await.map_err(|e| explain(&cli, e))?;
            let line = serde_json::to_string(&anchor)? + "\n";
            if let Some(path) = out {
                use std::io::Write;
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("opening {}", path.display()))?;
                f.write_all(line.as_bytes())
                    .and_then(|_| f.sync_all())
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            if let Some(cmd) = command {
                use std::io::Write;
                let mut child = std::process::Command::new("sh")
                    .arg("-c")
                    .arg(cmd)
                    .stdin(std::process::Stdio::piped())
                    .spawn()
                    .with_context(|| format!("running {cmd}"))?;
                if let Some(mut stdin) = child.stdin.take() {
                    stdin.write_all(line.as_bytes())?;
                }
                let status = child.wait()?;
                if !status.success() {
                    bail!("the anchor command failed ({status}): the anchor was not kept");
                }
            }
            print!("{line}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Every anchor in these files (one JSON line each, as `audit anchor --out` writes them).
fn read_anchors(files: &[std::path::PathBuf]) -> anyhow::Result<Vec<percorsi_service::audit::Anchor>> {
    let mut anchors = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).with_context(|| format!("reading anchors from {}", file.display()))?;
        for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            anchors.push(serde_json::from_str(line).with_context(|| {
                format!("{} line {}: not an anchor written by `percorsi audit anchor`", file.display(), n + 1)
            })?);
        }
    }
    if !files.is_empty() && anchors.is_empty() {
        bail!("no anchor in {}", files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", "));
    }
    Ok(anchors)
}

/// SQLite: an online copy verified on the spot. PostgreSQL: `pg_dump` of one consistent
/// snapshot (`--serializable-deferrable`), checked readable with `pg_restore --list`.
async fn backup(cli: &Cli, out: &std::path::Path) -> anyhow::Result<()> {
    if cli.database_url.starts_with("sqlite:") {
        let svc = open(cli, Open::Existing).await?;
        let summary = svc.backup(out).await.map_err(|e| explain(cli, e))?;
        print_summary("backup written and verified", &summary);
        return Ok(());
    }
    if out.exists() {
        bail!("{} already exists: choose another file", out.display());
    }
    let status = std::process::Command::new("pg_dump")
        .args(["--format=custom", "--serializable-deferrable", "--no-owner", "--file"])
        .arg(out)
        .arg(&cli.database_url)
        .status()
        .context("running pg_dump (install the PostgreSQL client tools)")?;
    if !status.success() {
        bail!("pg_dump failed ({status}); nothing was kept");
    }
    let list =
        std::process::Command::new("pg_restore").arg("--list").arg(out).output().context("running pg_restore")?;
    if !list.status.success() {
        bail!("the dump {} cannot be read back by pg_restore", out.display());
    }
    let tables = String::from_utf8_lossy(&list.stdout).lines().filter(|l| l.contains(" TABLE DATA ")).count();
    // Documents' files go beside the dump (rows are never pointed at a file written later, so
    // every row the dump holds has its file among these).
    let svc = open(cli, Open::Existing).await?;
    let dir = percorsi_service::backup::documents_beside(out);
    let documents = svc.backup_documents(&dir).await.map_err(|e| explain(cli, e))?;
    println!(
        "backup written and readable: {} ({tables} tables, {documents} document files in {})",
        out.display(),
        dir.display()
    );
    Ok(())
}

async fn restore(cli: &Cli, from: &std::path::Path, force: bool) -> anyhow::Result<()> {
    let Some(path) = cli.database_url.strip_prefix("sqlite://") else {
        bail!(
            "on PostgreSQL restore with: pg_restore --clean --if-exists --no-owner -d <database URL> {}",
            from.display()
        );
    };
    let target = std::path::Path::new(path.split('?').next().unwrap_or(path));
    let key = keyfile::load(&cli.secret_file)?.ok_or_else(|| keyfile::KeyError::Missing(cli.secret_file.clone()))?;
    let summary = percorsi_service::backup::restore_sqlite(from, target, &documents_dir(cli), &key, force)
        .await
        .map_err(|e| explain(cli, e))?;
    print_summary(&format!("restored into {}", target.display()), &summary);
    Ok(())
}

fn print_summary(what: &str, s: &percorsi_service::backup::BackupSummary) {
    println!(
        "{what}: {} ({} bytes), integrity {}, audit trail intact ({} entries)",
        s.file.display(),
        s.bytes,
        s.integrity,
        s.audit_entries
    );
    for (kind, n) in &s.records {
        println!("  {kind:<14} {n}");
    }
    if s.documents > 0 {
        let dir = percorsi_service::backup::documents_beside(&s.file);
        println!("  {:<14} {} (files in {}, each checked)", "document file", s.documents, dir.display());
    }
}

/// Fewer malloc arenas than glibc's default (eight per core): the blocking pool's threads
/// would otherwise each keep an arena of their own after a burst.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes an allocator setting (for arenas created from now on); it is
    // thread-safe and touches no live allocation.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 4);
    }
}

/// glibc keeps the memory a burst of requests allocated in its per-thread arenas; giving it
/// back every few seconds returns the process near its idle size once the burst is over.
fn return_memory_after_bursts() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    tokio::spawn(async {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(10));
        loop {
            every.tick().await;
            // SAFETY: malloc_trim only releases free memory held by the allocator; it touches
            // no live allocation and is safe to call from any thread at any time.
            unsafe {
                libc::malloc_trim(0);
            }
        }
    });
}

fn print_demo_logins(bind: &str) {
    println!(
        "\nPercorsi demo — open http://{bind}/ and sign in with password «{}»:",
        percorsi_service::demo::DEMO_PASSWORD
    );
    let mut seen = Vec::new();
    for (user, name, _, _) in percorsi_service::demo::DEMO_USERS {
        if seen.contains(user) {
            continue;
        }
        seen.push(*user);
        let roles: Vec<&str> =
            percorsi_service::demo::DEMO_USERS.iter().filter(|(u, ..)| u == user).map(|(.., r)| r.code()).collect();
        println!("  {user:<13} {name:<28} {}", roles.join(" + "));
    }
    println!();
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

#[tokio::main]
async fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = Cli::parse();
    init_logging(&cli.log_format);
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Beyond loopback the server is reached over a network: its cookies are `Secure` (HTTPS only)
/// unless the operator says otherwise; on loopback (a reverse proxy in front, or a developer)
/// they follow `--secure-cookies`.
fn cookies_secure(bind: &str, secure: bool, insecure: bool) -> bool {
    let host = bind.rsplit_once(':').map_or(bind, |(h, _)| h).trim_start_matches('[').trim_end_matches(']');
    let loopback =
        host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    secure || (!loopback && !insecure)
}

#[cfg(test)]
mod tests {
    use super::cookies_secure;

    #[test]
    fn cookies_are_secure_beyond_loopback_unless_told_otherwise() {
        for bind in ["127.0.0.1:8080", "localhost:8080", "[::1]:8080"] {
            assert!(!cookies_secure(bind, false, false), "{bind}");
            assert!(cookies_secure(bind, true, false), "{bind} with --secure-cookies");
        }
        for bind in ["0.0.0.0:8080", "10.1.2.3:443", "[::]:8080", "percorsi.example:8080"] {
            assert!(cookies_secure(bind, false, false), "{bind}");
            assert!(!cookies_secure(bind, false, true), "{bind} with --insecure-cookies");
        }
    }
}

/// A list of role codes given on the command line.
#[derive(Debug, Clone)]
struct RoleList(Vec<percorsi_domain::codes::Role>);

fn parse_roles(raw: &str) -> Result<RoleList, String> {
    if raw.trim() == "none" {
        return Ok(RoleList(Vec::new()));
    }
    raw.split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| {
            percorsi_domain::codes::Role::parse(r).ok_or_else(|| {
                let known: Vec<&str> = percorsi_domain::codes::Role::ALL.iter().map(|r| r.code()).collect();
                format!("unknown role {r:?}; known roles: {}, or \"none\"", known.join(", "))
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(RoleList)
}

/// Single sign-on through an OpenID Connect provider (all of issuer, client id and secret, or
/// none).
#[derive(clap::Args, Debug, Clone)]
struct SsoArgs {
    /// The provider's issuer URL, e.g. https://login.regione.example/realms/staff.
    #[arg(long, env = "PERCORSI_OIDC_ISSUER", requires_all = ["oidc_client_id", "oidc_client_secret_file"])]
    oidc_issuer: Option<String>,
    /// The client id Percorsi is registered with at the provider.
    #[arg(long, env = "PERCORSI_OIDC_CLIENT_ID")]
    oidc_client_id: Option<String>,
    /// A file holding the client secret (kept out of the command line and the environment).
    #[arg(long, env = "PERCORSI_OIDC_CLIENT_SECRET_FILE")]
    oidc_client_secret_file: Option<std::path::PathBuf>,
    /// The claim matched to accounts' SSO identity: sub, email (verified only) or a claim of
    /// the userinfo endpoint such as fiscal_number.
    #[arg(long, env = "PERCORSI_OIDC_CLAIM", default_value = "email")]
    oidc_claim: String,
    /// The provider's name on the sign-in button.
    #[arg(long, env = "PERCORSI_OIDC_LABEL", default_value = "login unico")]
    oidc_label: String,
    /// The address users reach Percorsi at (the provider sends them back to
    /// <public-url>/login/sso/callback; links in e-mails and webhooks point there); defaults
    /// to the bind address.
    #[arg(long, env = "PERCORSI_PUBLIC_URL")]
    public_url: Option<String>,
}

impl SsoArgs {
    fn public_url(&self, bind: &str, secure: bool) -> String {
        let scheme = if secure { "https" } else { "http" };
        self.public_url.clone().unwrap_or_else(|| format!("{scheme}://{bind}"))
    }

    fn settings(&self, bind: &str, secure: bool) -> anyhow::Result<Option<percorsi_service::sso::SsoSettings>> {
        let (Some(issuer), Some(client_id), Some(secret_file)) =
            (&self.oidc_issuer, &self.oidc_client_id, &self.oidc_client_secret_file)
        else {
            return Ok(None);
        };
        let client_secret = std::fs::read_to_string(secret_file)
            .map_err(|e| anyhow::anyhow!("cannot read the client secret from {}: {e}", secret_file.display()))?
            .trim()
            .to_string();
        anyhow::ensure!(!client_secret.is_empty(), "the client secret file {} is empty", secret_file.display());
        let public = self.public_url(bind, secure);
        Ok(Some(percorsi_service::sso::SsoSettings {
            issuer: issuer.clone(),
            client_id: client_id.clone(),
            client_secret,
            redirect_url: format!("{}/login/sso/callback", public.trim_end_matches('/')),
            claim: self.oidc_claim.clone(),
            label: self.oidc_label.clone(),
        }))
    }
}
