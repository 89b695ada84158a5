//! Authentication (SPEC §1): the headers, handed to the application layer —
//! `apikey` names the tenant, `secretkey` (or `TransactionKey`) proves it.

use crate::AppState;
use crate::error::ApiError;
use app::Access;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use store::TenantAuth;

/// A caller allowed to use every route: both keys checked.
pub struct SecretCaller(pub TenantAuth);

/// A caller of one of the two routes client SDKs call with the apikey alone
/// (creating a customer, sending events) while the tenant's `highSecurity`
/// (default on) is off; every other route takes a [`SecretCaller`].
pub struct Caller(pub TenantAuth);

fn header<'a>(parts: &'a Parts, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|n| parts.headers.get(*n))
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
}

async fn authenticate(
    parts: &Parts,
    state: &AppState,
    access: Access,
) -> Result<TenantAuth, ApiError> {
    let apikey = header(parts, &["apikey"]);
    let secret = header(parts, &["secretkey", "transactionkey"]);
    // Failed checks are throttled per address too.
    let from = parts.extensions.get::<crate::ClientAddr>().map(|a| a.0);
    Ok(state
        .app
        .tenants()
        .authenticate(apikey, secret, access, from)
        .await?)
}

impl FromRequestParts<AppState> for SecretCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        authenticate(parts, state, Access::Secret)
            .await
            .map(SecretCaller)
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        authenticate(parts, state, Access::Public).await.map(Caller)
    }
}
