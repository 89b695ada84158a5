//! The route table: each (method, path) is registered once, both in the router
//! and in a list the contract tests compare with the OpenAPI document.

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{delete, get, post};

pub struct Routes<S> {
    pub router: Router<S>,
    pub table: Vec<(Method, &'static str)>,
}

impl<S: Clone + Send + Sync + 'static> Routes<S> {
    pub fn new() -> Self {
        Routes {
            router: Router::new(),
            table: Vec::new(),
        }
    }

    pub fn get<H: Handler<T, S>, T: 'static>(mut self, path: &'static str, handler: H) -> Self {
        self.table.push((Method::GET, path));
        self.router = self.router.route(path, get(handler));
        self
    }

    pub fn post<H: Handler<T, S>, T: 'static>(mut self, path: &'static str, handler: H) -> Self {
        self.table.push((Method::POST, path));
        self.router = self.router.route(path, post(handler));
        self
    }

    pub fn delete<H: Handler<T, S>, T: 'static>(mut self, path: &'static str, handler: H) -> Self {
        self.table.push((Method::DELETE, path));
        self.router = self.router.route(path, delete(handler));
        self
    }
}
