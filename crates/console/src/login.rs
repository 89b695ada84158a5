//! Signing in with the tenant's keys (a double-submit CSRF token on the login
//! form), and out.

use crate::{
    CsrfForm, Operator, State, failed, forged, html, now_secs, pages, session, session_key,
};
use axum::Form;
use axum::extract::State as With;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    apikey: String,
    #[serde(default)]
    secretkey: String,
    #[serde(default)]
    csrf: String,
}

pub(crate) async fn page(With(state): With<State>) -> Response {
    let token = hex::encode(rand::random::<[u8; 16]>());
    let cookie = session::set_cookie(
        session::LOGIN_COOKIE,
        &token,
        3600,
        state.settings.secure_cookies,
    );
    let mut resp = html(StatusCode::OK, pages::login(&token, None));
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

pub(crate) async fn login(
    With(state): With<State>,
    addr: Option<axum::Extension<server::ClientAddr>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let expected = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|c| session::cookie(c, session::LOGIN_COOKIE))
        .unwrap_or_default();
    if expected.is_empty() || expected != form.csrf {
        return forged();
    }
    let apikey = form.apikey.trim();
    let from = addr.map(|axum::Extension(server::ClientAddr(ip))| ip);
    let tenant = match state
        .app
        .tenants()
        .sign_in(apikey, &form.secretkey, from)
        .await
    {
        Ok(t) => t,
        Err(e) => return failed(e),
    };
    let Some(tenant) = tenant else {
        // Wrong keys: an error, and nothing set.
        return html(
            StatusCode::UNAUTHORIZED,
            pages::login(&form.csrf, Some("Wrong apikey or secretkey.")),
        );
    };
    let value = session::issue(
        apikey,
        &session_key(&state, &tenant),
        now_secs(),
        rand::random(),
    );
    let secure = state.settings.secure_cookies;
    let mut resp = Redirect::to("/console/jobs").into_response();
    let h = resp.headers_mut();
    for c in [
        session::set_cookie(session::COOKIE, &value, session::LIFETIME_SECS, secure),
        session::set_cookie(session::LOGIN_COOKIE, "", 0, secure),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    resp
}

pub(crate) async fn logout(
    With(state): With<State>,
    op: Operator,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !op.session.csrf_matches(&form.csrf) {
        return forged();
    }
    // Ended on the server, not only in this browser: a copy of the cookie is void too.
    let ended = state
        .app
        .tenants()
        .end_session(op.session.nonce(), op.session.expires)
        .await;
    if let Err(e) = ended {
        return failed(e);
    }
    let mut resp = Redirect::to("/console/login").into_response();
    let c = session::set_cookie(session::COOKIE, "", 0, state.settings.secure_cookies);
    if let Ok(v) = HeaderValue::from_str(&c) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}
