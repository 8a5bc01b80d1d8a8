//! Templates (minijinja, embedded in the binary) and the page context every page shares.

use crate::i18n::{FieldMessage, I18n, Lang};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, State};
use std::collections::BTreeMap;
use std::sync::Arc;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("macros.html", include_str!("../templates/macros.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("login_code.html", include_str!("../templates/login_code.html")),
    ("reauthenticate.html", include_str!("../templates/reauthenticate.html")),
    ("account_mfa.html", include_str!("../templates/account_mfa.html")),
    ("choose_role.html", include_str!("../templates/choose_role.html")),
    ("home.html", include_str!("../templates/home.html")),
    ("error.html", include_str!("../templates/error.html")),
    ("persons/list.html", include_str!("../templates/persons/list.html")),
    ("own/accept.html", include_str!("../templates/own/accept.html")),
    ("own/invitation.html", include_str!("../templates/own/invitation.html")),
    ("own/page.html", include_str!("../templates/own/page.html")),
    ("own/self_assessment.html", include_str!("../templates/own/self_assessment.html")),
    ("persons/export.html", include_str!("../templates/persons/export.html")),
    ("persons/new.html", include_str!("../templates/persons/new.html")),
    ("persons/known.html", include_str!("../templates/persons/known.html")),
    ("persons/glass.html", include_str!("../templates/persons/glass.html")),
    ("glass_reviews.html", include_str!("../templates/glass_reviews.html")),
    ("account.html", include_str!("../templates/account.html")),
    ("account_mail.html", include_str!("../templates/account_mail.html")),
    ("persons/show.html", include_str!("../templates/persons/show.html")),
    ("admin/organisations.html", include_str!("../templates/admin/organisations.html")),
    ("admin/organisation.html", include_str!("../templates/admin/organisation.html")),
    ("admin/users.html", include_str!("../templates/admin/users.html")),
    ("admin/user.html", include_str!("../templates/admin/user.html")),
    ("admin/instruments.html", include_str!("../templates/admin/instruments.html")),
    ("admin/webhooks.html", include_str!("../templates/admin/webhooks.html")),
    ("admin/webhook.html", include_str!("../templates/admin/webhook.html")),
    ("audit.html", include_str!("../templates/audit.html")),
    ("programmes/list.html", include_str!("../templates/programmes/list.html")),
    ("programmes/show.html", include_str!("../templates/programmes/show.html")),
    ("interventions/new.html", include_str!("../templates/interventions/new.html")),
    ("interventions/show.html", include_str!("../templates/interventions/show.html")),
    ("interventions/list.html", include_str!("../templates/interventions/list.html")),
    ("interventions/form.html", include_str!("../templates/interventions/form.html")),
    ("tutor/list.html", include_str!("../templates/tutor/list.html")),
    ("tutor/show.html", include_str!("../templates/tutor/show.html")),
    ("reports/_grid.html", include_str!("../templates/reports/_grid.html")),
    ("network/assessment.html", include_str!("../templates/network/assessment.html")),
    ("network/network.html", include_str!("../templates/network/network.html")),
    ("opportunities/list.html", include_str!("../templates/opportunities/list.html")),
    ("referrals/list.html", include_str!("../templates/referrals/list.html")),
    ("notes.html", include_str!("../templates/notes.html")),
    ("referrals/notifications.html", include_str!("../templates/referrals/notifications.html")),
    ("projects/_plan.html", include_str!("../templates/projects/_plan.html")),
    ("projects/form.html", include_str!("../templates/projects/form.html")),
    ("projects/show.html", include_str!("../templates/projects/show.html")),
    ("projects/print.html", include_str!("../templates/projects/print.html")),
    ("reports/page.html", include_str!("../templates/reports/page.html")),
    ("reports/compare.html", include_str!("../templates/reports/compare.html")),
    ("reports/print.html", include_str!("../templates/reports/print.html")),
    ("reports/import.html", include_str!("../templates/reports/import.html")),
    ("reports/import_result.html", include_str!("../templates/reports/import_result.html")),
];

pub struct Ui {
    env: Environment<'static>,
    pub i18n: Arc<I18n>,
    pub secure_cookies: bool,
}

impl Ui {
    pub fn new(secure_cookies: bool) -> Self {
        let i18n = Arc::new(I18n::new());
        let mut env = Environment::new();
        for (name, src) in TEMPLATES {
            env.add_template(name, src).expect("embedded templates parse (checked by tests)");
        }
        // HTML-escape without turning every "/" of dates and paths into "&#x2f;".
        env.set_formatter(|out, state, value| {
            if state.auto_escape() == minijinja::AutoEscape::Html && !value.is_safe() {
                if let Some(s) = value.as_str() {
                    return out
                        .write_str(&html_escape(s))
                        .map_err(|_| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "write failed"));
                }
            }
            minijinja::escape_formatter(out, state, value)
        });
        let tr = i18n.clone();
        // `t("key", name=value)` translates in the page's language (the `lang` context variable).
        env.add_function("t", move |state: &State, key: &str, kwargs: Kwargs| -> String {
            let lang = state.lookup("lang").and_then(|v| v.as_str().and_then(Lang::parse)).unwrap_or(Lang::It);
            let args: Vec<(&str, String)> =
                kwargs.args().map(|k| (k, kwargs.get::<Value>(k).map(|v| v.to_string()).unwrap_or_default())).collect();
            tr.t(lang, key, &args)
        });
        let tr = i18n.clone();
        // `code("action", "read")`: a stored code by its name in the page's language, or the
        // code itself where no name is written (never a message id on the page).
        env.add_function("code", move |state: &State, list: &str, value: &str| -> String {
            let lang = state.lookup("lang").and_then(|v| v.as_str().and_then(Lang::parse)).unwrap_or(Lang::It);
            let key = format!("code-{list}-{value}");
            if tr.has(lang, &key) {
                tr.t(lang, &key, &[])
            } else {
                value.to_string()
            }
        });
        env.add_filter("date", |v: Value| -> String {
            let s = v.to_string();
            match chrono::NaiveDate::parse_from_str(s.get(..10).unwrap_or(""), "%Y-%m-%d") {
                Ok(d) => d.format("%d/%m/%Y").to_string(),
                Err(_) => {
                    if v.is_none() || v.is_undefined() {
                        String::new()
                    } else {
                        s
                    }
                }
            }
        });
        env.add_filter("datetime", |v: Value| -> String {
            let s = v.to_string();
            match chrono::DateTime::parse_from_rfc3339(&s) {
                Ok(d) => d.with_timezone(&chrono::Local).format("%d/%m/%Y %H:%M:%S").to_string(),
                Err(_) => s,
            }
        });
        // `row|who`: a person as this reader may see them. The store names a person only where
        // the reader may see their identity (`person_name`, or `surname` and `name`); every
        // other row shows the pseudonymous code (`person_code` or `code`). One place decides
        // the look; no template tests identity itself.
        env.add_filter("who", |row: Value| -> Value {
            let field =
                |k: &str| row.get_attr(k).ok().filter(|v| !v.is_none() && !v.is_undefined()).map(|v| v.to_string());
            let name = field("person_name").or_else(|| {
                field("surname").map(|s| match field("name") {
                    Some(n) => format!("{s} {n}"),
                    None => s,
                })
            });
            match name {
                Some(n) => Value::from_safe_string(html_escape(&n)),
                None => {
                    let code = field("person_code").or_else(|| field("code")).unwrap_or_default();
                    Value::from_safe_string(format!("<code>{}</code>", html_escape(&code)))
                }
            }
        });
        env.add_filter("euro", |v: i64| percorsi_domain::money::format_euros(v));
        Ui { env, i18n, secure_cookies }
    }

    pub fn t(&self, lang: Lang, key: &str) -> String {
        self.i18n.t(lang, key, &[])
    }

    pub fn render(&self, status: StatusCode, name: &str, ctx: Value) -> Response {
        match self.env.get_template(name).and_then(|t| t.render(ctx)) {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!(template = name, error = %e, "template rendering failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
            }
        }
    }

    /// Field errors keyed by field name, for the form macros, plus the ordered summary list.
    pub fn errors(
        &self,
        lang: Lang,
        invalid: &percorsi_domain::Invalid,
    ) -> (BTreeMap<String, String>, Vec<FieldMessage>) {
        let list = self.i18n.field_errors(lang, invalid);
        let mut map = BTreeMap::new();
        for m in &list {
            map.entry(m.field.clone()).or_insert_with(|| m.message.clone());
        }
        (map, list)
    }
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    /// Every class a template writes in a literal `class="…"` has a rule in the stylesheet (a
    /// class built at run time, `status-{{ … }}`, needs a rule starting with its prefix), so no
    /// element silently renders as the browser's default.
    #[test]
    fn every_template_class_is_styled() {
        let css = include_str!("../static/app.css");
        let defined: std::collections::BTreeSet<&str> = css
            .split('.')
            .skip(1)
            .filter_map(|rest| {
                let name: &str = rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')).next()?;
                name.chars().next().filter(|c| c.is_ascii_alphabetic()).map(|_| name)
            })
            .collect();
        let mut unstyled = Vec::new();
        for (name, src) in super::TEMPLATES {
            let mut rest = *src;
            while let Some(i) = rest.find("class=\"") {
                let after = &rest[i + 7..];
                let end = after.find('"').unwrap_or(after.len());
                // Template tags (`{% if … %}`) are not classes; what they wrap may be.
                let mut classes = String::new();
                let mut text = &after[..end];
                while let Some(open) = text.find("{%") {
                    classes.push_str(&text[..open]);
                    classes.push(' ');
                    text = text[open..].find("%}").map_or("", |close| &text[open + close + 2..]);
                }
                classes.push_str(text);
                // An expression (`{{ … }}`) becomes a marker: "status-{{ x }}" is the prefix
                // "status-"; a class computed entirely by an expression cannot be checked here.
                let mut marked = String::new();
                let mut text = classes.as_str();
                while let Some(open) = text.find("{{") {
                    marked.push_str(&text[..open]);
                    marked.push('\u{1}');
                    text = text[open..].find("}}").map_or("", |close| &text[open + close + 2..]);
                }
                marked.push_str(text);
                for class in marked.split_whitespace() {
                    let class = class.split('\u{1}').next().unwrap_or(class);
                    if class.is_empty() {
                        continue;
                    }
                    let styled = if class.ends_with('-') {
                        defined.iter().any(|d| d.starts_with(class))
                    } else {
                        defined.contains(class)
                    };
                    if !styled {
                        unstyled.push(format!("{name}: .{class}"));
                    }
                }
                rest = &after[end..];
            }
        }
        unstyled.sort();
        unstyled.dedup();
        assert!(unstyled.is_empty(), "classes without a style: {unstyled:#?}");
    }

    /// Every literal `t("…")` in a template names a message both languages define, so no page
    /// ever shows a raw message id.
    #[test]
    fn every_template_message_exists_in_both_languages() {
        let i18n = crate::i18n::I18n::new();
        let mut missing = Vec::new();
        let mut checked = 0;
        for (name, src) in super::TEMPLATES {
            for quote in ['"', '\''] {
                let opener = format!("t({quote}");
                let mut rest = *src;
                while let Some(i) = rest.find(&opener) {
                    let after = &rest[i + opener.len()..];
                    let Some(end) = after.find(quote) else { break };
                    let key = &after[..end];
                    // `t("code-role-" ~ x)` builds the id at run time; those are covered by the code tests.
                    let dynamic = after[end + 1..].trim_start().starts_with('~');
                    let preceded_by_ident = rest[..i].chars().last().is_some_and(|c| c.is_alphanumeric() || c == '_');
                    if !dynamic && !preceded_by_ident {
                        checked += 1;
                        for lang in [crate::i18n::Lang::It, crate::i18n::Lang::En] {
                            if !i18n.has(lang, key) {
                                missing.push(format!("{name}: {key} ({lang:?})"));
                            }
                        }
                    }
                    rest = &after[end..];
                }
            }
        }
        assert!(missing.is_empty(), "{missing:#?}");
        assert!(checked > 200, "the scan found only {checked} messages");
    }

    #[test]
    fn escapes_markup_but_not_slashes() {
        assert_eq!(
            super::html_escape("<a href=\"x\">O'Neil & 1/2</a>"),
            "&lt;a href=&quot;x&quot;&gt;O&#x27;Neil &amp; 1/2&lt;/a&gt;"
        );
    }

    #[test]
    fn templates_compile() {
        let ui = super::Ui::new(false);
        for (name, _) in super::TEMPLATES {
            assert!(ui.env.get_template(name).is_ok(), "{name}");
        }
    }
}
