//! Authentication (SPEC §1): `apikey` names the tenant, `secretkey` (or `TransactionKey`) proves server-side access.

use crate::AppState;
use crate::error::ApiError;
use crate::keys;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use store::TenantAuth;
use wire::ErrorCode;

/// A caller allowed to use every route: both keys checked.
pub struct SecretCaller(pub TenantAuth);

/// A caller of a route that needs only the apikey, unless the tenant's
/// `highSecurity` setting (default on) demands the secret too.
pub struct Caller(pub TenantAuth);

fn header<'a>(parts: &'a Parts, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|n| parts.headers.get(*n))
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
}

fn invalid_keys() -> ApiError {
    ApiError::new(ErrorCode::InvalidApiKey, "apikey or secretkey is invalid")
}

async fn authenticate(
    parts: &Parts,
    state: &AppState,
    always_secret: bool,
) -> Result<TenantAuth, ApiError> {
    let apikey = header(parts, &["apikey"])
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidApiKey, "apikey header is missing"))?;
    let secret = header(parts, &["secretkey", "transactionkey"]);
    let tenant = state.store.tenant_by_apikey(apikey).await?;
    let Some(tenant) = tenant else {
        // Same work and same answer as a wrong secret: nothing tells whether the apikey exists.
        let _ = keys::secret_matches(secret.unwrap_or(""), "");
        return Err(invalid_keys());
    };
    match secret {
        Some(s) if keys::secret_matches(s, &tenant.secret_hash) => Ok(tenant),
        Some(_) => Err(invalid_keys()),
        None if always_secret || tenant.high_security => Err(ApiError::new(
            ErrorCode::SecretRequired,
            "secretkey header is required for this call",
        )),
        None => Ok(tenant),
    }
}

impl FromRequestParts<AppState> for SecretCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        authenticate(parts, state, true).await.map(SecretCaller)
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        authenticate(parts, state, false).await.map(Caller)
    }
}
