//! The customer search box and a customer's page: profile, balance, and
//! movements newest first, paged.

use crate::{ITEMS_PER_PAGE, Operator, State, failed, html, pages};
use axum::extract::{Path, Query, State as With};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub(crate) struct CustomerQuery {
    q: Option<String>,
    before: Option<i64>,
}

pub(crate) async fn search(Query(q): Query<CustomerQuery>, op: Operator) -> Response {
    match q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(id) => {
            Redirect::to(&format!("/console/customers/{}", pages::url_encode(id))).into_response()
        }
        None => html(
            StatusCode::OK,
            pages::customer_search(&op.tenant.name, op.session.csrf(), "", false),
        ),
    }
}

pub(crate) async fn customer(
    With(state): With<State>,
    op: Operator,
    Path(id): Path<String>,
    Query(q): Query<CustomerQuery>,
) -> Response {
    let limit = u32::try_from(ITEMS_PER_PAGE).unwrap_or(u32::MAX);
    let overview = state
        .app
        .customers()
        .overview(op.tenant.id, &id, limit, q.before)
        .await;
    let overview = match overview {
        Ok(o) => o,
        Err(e) if e.code() == wire::ErrorCode::CustomerNotFound => {
            return html(
                StatusCode::NOT_FOUND,
                pages::customer_search(&op.tenant.name, op.session.csrf(), &id, true),
            );
        }
        Err(e) => return failed(e),
    };
    let page = pages::CustomerPage {
        tenant: &op.tenant.name,
        csrf: op.session.csrf(),
        customer_id: &id,
        gameball_id: overview.profile.gameball_id,
        profile: &overview.profile.profile,
        balance: &overview.balance,
        movements: &overview.movements.items,
        next: overview.movements.next,
    };
    html(StatusCode::OK, pages::customer(&page))
}
