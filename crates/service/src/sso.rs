//! Single sign-on through OpenID Connect (authorisation code with PKCE): the regions' and
//! health authorities' identity providers (SPID/CIE gateways, staff directories) sign people in.
//! Accounts are matched on one configured claim (e.g. the fiscal number) whose value an
//! administrator linked to the account beforehand; nobody is ever created, or given a role,
//! by signing in.

use crate::audit::{now, record_system, ts};
use crate::auth::{digest, SessionStage, SESSION_IDLE_MINUTES};
use crate::{Result, Service, ServiceError};
use chrono::{Duration, Utc};
use openidconnect::core::{CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreProviderMetadata};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse, UserInfoClaims,
};
use percorsi_store::{MembershipRow, NewSession, OidcPending};
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

/// How long a sign-in may stay at the provider before its answer is refused.
const PENDING_MINUTES: i64 = 10;

/// The installation's identity provider, as configured.
#[derive(Debug, Clone)]
pub struct SsoSettings {
    /// The provider's issuer URL (its discovery document is read from it).
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// Where the provider sends the browser back: `<public URL>/login/sso/callback`.
    pub redirect_url: String,
    /// The claim whose value is linked to accounts: `sub`, `email` (verified only), or any
    /// claim the provider returns from its userinfo endpoint (e.g. `fiscal_number`).
    pub claim: String,
    /// The provider's name on the sign-in button.
    pub label: String,
}

type Client =
    CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

/// The configured provider: settings, and its metadata once discovered (on first use, retried
/// until the provider answers, so a provider that is down at start does not stop Percorsi).
pub struct Sso {
    settings: SsoSettings,
    http: openidconnect::reqwest::Client,
    client: OnceCell<Client>,
}

/// Claims beyond the standard ones (a fiscal number, a staff id).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
struct OtherClaims(serde_json::Map<String, serde_json::Value>);
impl AdditionalClaims for OtherClaims {}

/// What the provider's answer led to.
pub enum SsoOutcome {
    /// A new session for the linked account; go to `next`.
    SignedIn { session_token: String, next: String },
    /// The signed-in user confirmed who they are; go back to `next`.
    Reauthenticated { next: String },
}

impl Sso {
    pub fn new(settings: SsoSettings) -> Result<Sso> {
        let http = openidconnect::reqwest::ClientBuilder::new()
            // Following redirects would let a provider's answer send us anywhere (SSRF).
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| ServiceError::Broken(format!("HTTP client: {e}")))?;
        Ok(Sso { settings, http, client: OnceCell::new() })
    }

    pub fn label(&self) -> &str {
        &self.settings.label
    }

    async fn client(&self) -> Result<&Client> {
        self.client
            .get_or_try_init(|| async {
                let issuer = IssuerUrl::new(self.settings.issuer.clone()).map_err(|e| broken("issuer URL", e))?;
                let metadata = CoreProviderMetadata::discover_async(issuer, &self.http).await.map_err(|e| {
                    tracing::warn!(error = %e, "identity provider discovery failed");
                    ServiceError::Conflict("err-sso-unavailable")
                })?;
                let redirect =
                    RedirectUrl::new(self.settings.redirect_url.clone()).map_err(|e| broken("redirect URL", e))?;
                Ok(CoreClient::from_provider_metadata(
                    metadata,
                    ClientId::new(self.settings.client_id.clone()),
                    Some(ClientSecret::new(self.settings.client_secret.clone())),
                )
                .set_redirect_uri(redirect))
            })
            .await
    }
}

fn broken(what: &str, e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Broken(format!("single sign-on {what}: {e}"))
}

fn provider_error(e: impl std::fmt::Display) -> ServiceError {
    tracing::warn!(error = %e, "identity provider answer refused");
    ServiceError::Conflict("err-sso-failed")
}

impl Service {
    fn sso(&self) -> Result<&Sso> {
        self.sso.as_deref().ok_or(ServiceError::NotFound)
    }

    pub fn sso_label(&self) -> Option<&str> {
        self.sso.as_deref().map(Sso::label)
    }

    /// Starts a sign-in (or, with the session's token, a re-authentication) at the provider:
    /// returns the state to bind to the browser and the URL to send it to.
    pub async fn sso_start(&self, next: &str, reauth_token: Option<&str>) -> Result<(String, String)> {
        let sso = self.sso()?;
        let client = sso.client().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge);
        if reauth_token.is_some() {
            // The provider must ask again, not answer from its own session.
            request = request.add_prompt(CoreAuthPrompt::Login).set_max_age(std::time::Duration::ZERO);
        }
        let (url, state, nonce) = request.url();
        let pending = OidcPending {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            next_path: next.to_string(),
            session_hash: reauth_token.map(digest),
            created_at: now(),
        };
        let mut tx = self.store().write().await?;
        tx.insert_oidc_pending(&pending).await?;
        tx.commit().await?;
        Ok((pending.state, url.to_string()))
    }

    /// Finishes a sign-in with the provider's answer: the code is exchanged (with the PKCE
    /// verifier), the ID token checked (signature, issuer, audience, expiry, nonce), the
    /// configured claim read and matched to a linked, active account.
    pub async fn sso_finish(&self, state: &str, code: &str) -> Result<SsoOutcome> {
        let sso = self.sso()?;
        let client = sso.client().await?;
        let started_after = ts(Utc::now() - Duration::minutes(PENDING_MINUTES));
        let mut tx = self.store().write().await?;
        let pending = tx.take_oidc_pending(state, &started_after).await?;
        tx.commit().await?;
        let pending = pending.ok_or(ServiceError::Conflict("err-sso-expired"))?;
        let token = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(provider_error)?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
            .request_async(&sso.http)
            .await
            .map_err(provider_error)?;
        let id_token = token.id_token().ok_or_else(|| provider_error("no ID token"))?;
        let claims =
            id_token.claims(&client.id_token_verifier(), &Nonce::new(pending.nonce.clone())).map_err(provider_error)?;
        let subject = claims.subject().to_string();
        let value = match sso.settings.claim.as_str() {
            "sub" => Some(subject.clone()),
            claim => {
                let info: UserInfoClaims<OtherClaims, CoreGenderClaim> = client
                    .user_info(token.access_token().clone(), Some(claims.subject().clone()))
                    .map_err(provider_error)?
                    .request_async(&sso.http)
                    .await
                    .map_err(provider_error)?;
                match claim {
                    "email" => {
                        info.email().filter(|_| info.email_verified() == Some(true)).map(|e| e.as_str().to_lowercase())
                    }
                    other => info.additional_claims().0.get(other).and_then(|v| v.as_str()).map(str::to_string),
                }
            }
        };
        let value = value.ok_or_else(|| provider_error(format!("claim {} missing", sso.settings.claim)))?;
        self.sso_account(&value, pending).await
    }

    async fn sso_account(&self, value: &str, pending: OidcPending) -> Result<SsoOutcome> {
        let mut tx = self.store().write().await?;
        let user = tx.user_by_sso_subject(value).await?.filter(|u| u.active);
        let memberships: Vec<MembershipRow> = match &user {
            Some(u) => tx.memberships_of_user(u.id).await?.into_iter().filter(MembershipRow::usable).collect(),
            None => Vec::new(),
        };
        let Some(user) = user.filter(|_| !memberships.is_empty()) else {
            // The identity is real but linked to no active account: nothing is created.
            let reason = "login unico: identità non collegata a un account attivo";
            record_system(&mut tx, "sso", None, "login_refused", "user", None, reason).await?;
            tx.commit().await?;
            return Err(ServiceError::Conflict("err-sso-unknown"));
        };
        let id = Some(user.id.to_string());
        if let Some(session_hash) = &pending.session_hash {
            // A re-authentication: only for the same user's live session.
            let s = tx.session(session_hash, &now(), &crate::auth::signed_in_after()).await?;
            if s.is_none_or(|s| s.user_id != user.id) {
                tx.commit().await?;
                return Err(ServiceError::Conflict("err-sso-other-user"));
            }
            tx.set_session_authenticated(session_hash, &now()).await?;
            let reason = "conferma dell'identità con login unico";
            record_system(&mut tx, &user.username, Some(user.id), "reauthenticate", "session", id, reason).await?;
            tx.commit().await?;
            return Ok(SsoOutcome::Reauthenticated { next: pending.next_path });
        }
        let chosen = (memberships.len() == 1).then(|| memberships[0].id);
        let (at, expires) = (now(), ts(Utc::now() + Duration::minutes(SESSION_IDLE_MINUTES)));
        let new = NewSession {
            user_id: user.id,
            membership_id: chosen,
            created_at: &at,
            expires_at: &expires,
            // The provider vouches for the second factor (SPID/CIE level 2 and above).
            stage: SessionStage::Full.as_str(),
            method: "oidc",
            authenticated_at: &at,
        };
        let session_token = crate::auth::start_session(&mut tx, &new).await?;
        let reason = "accesso con login unico (SSO)";
        record_system(&mut tx, &user.username, Some(user.id), "login", "user", id, reason).await?;
        tx.commit().await?;
        Ok(SsoOutcome::SignedIn { session_token, next: pending.next_path })
    }
}
