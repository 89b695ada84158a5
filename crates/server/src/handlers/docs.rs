//! The API's own description, without keys: the OpenAPI document and its HTML page.

use axum::http::header;
use axum::response::{Html, IntoResponse};

pub async fn document() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        contract::document_text(),
    )
}

pub async fn reference() -> Html<&'static str> {
    Html(contract::reference_html())
}
