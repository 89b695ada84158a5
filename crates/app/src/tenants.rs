//! Tenants: who a caller is (the apikey names the tenant, the secret proves
//! it), their keys (created, rotated) and their program settings.

use crate::throttle::{Attempt, Throttle};
use crate::{Error, keys};
use domain::settings::ProgramSettings;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use store::{NewTenant, StoreError, TenantAuth, TenantId, TenantStore, TenantSummary};
use time::OffsetDateTime;
use wire::ErrorCode;

/// What a call needs to prove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Both keys, always.
    Secret,
    /// The apikey alone, unless the tenant's `highSecurity` (on by default)
    /// asks for the secret too.
    Public,
}

/// A tenant's keys as created or rotated: the secret is shown only now.
#[derive(Debug, Clone)]
pub struct NewKeys {
    pub name: String,
    pub apikey: String,
    pub secretkey: String,
}

fn invalid_keys() -> Error {
    Error::refused(ErrorCode::InvalidApiKey, "apikey or secretkey is invalid")
}

/// Refused while throttled: 429 with the time left.
fn throttled(wait: Duration) -> Error {
    Error::Busy {
        message: "too many failed key checks for this apikey or from this address; retry later"
            .to_owned(),
        retry_after: wait.max(Duration::from_secs(1)),
    }
}

#[derive(Clone)]
pub struct Tenants {
    store: Arc<dyn TenantStore>,
    throttle: Arc<Throttle>,
}

impl Tenants {
    pub(crate) fn new(store: Arc<dyn TenantStore>, throttle: Throttle) -> Tenants {
        Tenants {
            store,
            throttle: Arc::new(throttle),
        }
    }

    /// A failed check: counted, and logged at WARN (never the secret tried).
    fn failed(&self, attempt: &Attempt<'_>, tenant: Option<&TenantAuth>, door: &str) {
        let throttles = self.throttle.failed(attempt);
        let from = attempt.from.map(|ip| ip.to_string()).unwrap_or_default();
        match tenant {
            Some(t) => tracing::warn!(door, tenant = %t.name, from, throttles, "wrong secret key"),
            None => tracing::warn!(door, from, throttles, "unknown apikey"),
        }
    }

    /// The tenant a call's headers name and prove (SPEC §1): a missing or
    /// unknown apikey or a wrong secret is 1000, a secret required but missing
    /// 1001. An unknown apikey costs the same work as a wrong secret.
    ///
    /// Failed checks are throttled per apikey and per address `from`: past
    /// the limit a check is refused unmade (429 with `Retry-After`).
    pub async fn authenticate(
        &self,
        apikey: Option<&str>,
        secret: Option<&str>,
        access: Access,
        from: Option<IpAddr>,
    ) -> Result<TenantAuth, Error> {
        let apikey = apikey
            .ok_or_else(|| Error::refused(ErrorCode::InvalidApiKey, "apikey header is missing"))?;
        let attempt = Attempt { apikey, from };
        if let Some(wait) = self.throttle.refused(&attempt) {
            return Err(throttled(wait));
        }
        let Some(tenant) = self.store.tenant_by_apikey(apikey).await? else {
            // Same work and same answer as a wrong secret: nothing tells whether the apikey exists.
            let _ = keys::secret_matches(secret.unwrap_or(""), "");
            self.failed(&attempt, None, "api");
            return Err(invalid_keys());
        };
        match secret {
            Some(s) if keys::secret_matches(s, &tenant.secret_hash) => {
                self.throttle.succeeded(&attempt);
                Ok(tenant)
            }
            Some(_) => {
                self.failed(&attempt, Some(&tenant), "api");
                Err(invalid_keys())
            }
            None if access == Access::Secret || tenant.high_security => Err(Error::refused(
                ErrorCode::SecretRequired,
                "secretkey header is required for this call",
            )),
            None => Ok(tenant),
        }
    }

    /// The console's login: the tenant when both keys match, with the same
    /// work whether or not the apikey exists; throttled as [`Tenants::authenticate`].
    pub async fn sign_in(
        &self,
        apikey: &str,
        secret: &str,
        from: Option<IpAddr>,
    ) -> Result<Option<TenantAuth>, Error> {
        let attempt = Attempt { apikey, from };
        if let Some(wait) = self.throttle.refused(&attempt) {
            return Err(throttled(wait));
        }
        let tenant = self.store.tenant_by_apikey(apikey).await?;
        let matches = keys::secret_matches(
            secret,
            tenant.as_ref().map_or("", |t| t.secret_hash.as_str()),
        );
        if matches {
            self.throttle.succeeded(&attempt);
        } else {
            self.failed(&attempt, tenant.as_ref(), "console");
        }
        Ok(tenant.filter(|_| matches))
    }

    /// Ends a console session on every node (until it would have expired:
    /// `expires` in Unix seconds).
    pub async fn end_session(&self, nonce: &str, expires: i64) -> Result<(), Error> {
        let expires_ms = expires.saturating_mul(1000);
        Ok(self.store.end_session(nonce, expires_ms).await?)
    }

    /// Whether a console session was ended (by its logout).
    pub async fn session_ended(&self, nonce: &str) -> Result<bool, Error> {
        Ok(self.store.session_ended(nonce).await?)
    }

    /// The tenant an apikey names (a console session's).
    pub async fn by_apikey(&self, apikey: &str) -> Result<Option<TenantAuth>, Error> {
        Ok(self.store.tenant_by_apikey(apikey).await?)
    }

    /// Creates a tenant with new keys.
    pub async fn create(&self, name: &str) -> Result<NewKeys, Error> {
        let (apikey, secretkey) = keys::generate();
        let tenant = NewTenant {
            name: name.to_owned(),
            apikey: apikey.clone(),
            secret_hash: keys::hash_secret(&secretkey),
        };
        self.store
            .create_tenant(tenant, OffsetDateTime::now_utc())
            .await
            .map_err(|e| match e {
                StoreError::Conflict(m) => Error::conflict(crate::Conflict::Other, m),
                other => other.into(),
            })?;
        Ok(NewKeys {
            name: name.to_owned(),
            apikey,
            secretkey,
        })
    }

    /// Creates the tenant `default` on a database that has none, with the
    /// operator's keys (checked) or new ones; `None` when a tenant exists.
    pub async fn create_first(
        &self,
        chosen: Option<(String, String)>,
    ) -> Result<Option<NewKeys>, Error> {
        let (apikey, secretkey) = match chosen {
            Some((apikey, secret)) => {
                keys::check_chosen(&apikey, &secret)?;
                (apikey, secret)
            }
            None => keys::generate(),
        };
        let tenant = NewTenant {
            name: "default".into(),
            apikey: apikey.clone(),
            secret_hash: keys::hash_secret(&secretkey),
        };
        let created = self
            .store
            .create_first_tenant(tenant, OffsetDateTime::now_utc())
            .await?;
        Ok(created.then(|| NewKeys {
            name: "default".into(),
            apikey,
            secretkey,
        }))
    }

    pub async fn list(&self) -> Result<Vec<TenantSummary>, Error> {
        Ok(self.store.list_tenants().await?)
    }

    /// The id of the tenant named `name`.
    pub async fn id_by_name(&self, name: &str) -> Result<TenantId, Error> {
        self.list()
            .await?
            .into_iter()
            .find(|t| t.name == name)
            .map(|t| t.id)
            .ok_or_else(|| no_tenant(name))
    }

    /// Replaces a tenant's secret: the old one stops authenticating (and its
    /// console sessions end); the new one is shown only now.
    pub async fn rotate_secret(&self, name: &str) -> Result<NewKeys, Error> {
        let (_, secretkey) = keys::generate();
        self.store
            .rotate_secret(name, keys::hash_secret(&secretkey))
            .await
            .map_err(|e| by_name(e, name))?;
        Ok(NewKeys {
            name: name.to_owned(),
            apikey: String::new(),
            secretkey,
        })
    }

    /// A tenant's program settings, by name (the admin CLI).
    pub async fn settings(&self, name: &str) -> Result<ProgramSettings, Error> {
        self.store
            .tenant_settings(name)
            .await
            .map_err(|e| by_name(e, name))
    }

    /// Replaces a tenant's program settings, validated as a whole: a refusal
    /// names the setting at fault and nothing is saved.
    pub async fn set_settings(&self, name: &str, settings: ProgramSettings) -> Result<(), Error> {
        settings.validate().map_err(Error::invalid)?;
        self.store
            .set_tenant_settings(name, settings)
            .await
            .map_err(|e| by_name(e, name))
    }
}

fn no_tenant(name: &str) -> Error {
    Error::not_found(format!("no tenant named '{name}'"))
}

fn by_name(e: StoreError, name: &str) -> Error {
    match e {
        StoreError::NotFound => no_tenant(name),
        other => other.into(),
    }
}
