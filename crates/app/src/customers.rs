//! Customers: upserts and events (single calls), profiles, deletion, tags, and
//! a customer's movements newest first.

use crate::listings::{self, HISTORY};
use crate::paging::Page;
use crate::{Call, Error, Ledger};
use domain::ledger::post::balance_view;
use domain::{Success, customers};
use serde_json::Value;
use std::sync::Arc;
use store::{CustomerStore, MovementFilter, TenantId, TenantStore, to_millis};
use time::OffsetDateTime;
use wire::{BalanceView, CustomerDeleted, CustomerView, Done, TransactionList, TransactionView};

/// What the console's customer page shows, from one read of the customer.
pub struct CustomerOverview {
    pub profile: CustomerView,
    pub balance: BalanceView,
    pub movements: Page<TransactionView>,
}

#[derive(Clone)]
pub struct Customers {
    store: Arc<dyn CustomerStore>,
    tenants: Arc<dyn TenantStore>,
    ledger: Ledger,
}

/// A stored customer as the API shows it (its own keys are fields of their own).
fn profile_view(view: store::CustomerView) -> CustomerView {
    let mut profile = view.record.profile;
    for own in ["customerId", "gameballId", "createdAt", "updatedAt"] {
        profile.remove(own);
    }
    CustomerView {
        customer_id: view.record.customer_id.into_string(),
        gameball_id: view.record.gameball_id,
        profile,
        created_at: wire::instant::format(view.created_at),
        updated_at: wire::instant::format(view.updated_at),
    }
}

impl Customers {
    pub(crate) fn new(
        store: Arc<dyn CustomerStore>,
        tenants: Arc<dyn TenantStore>,
        listings: crate::gate::TenantGate,
    ) -> Customers {
        Customers {
            ledger: Ledger::new(store.clone(), tenants.clone(), listings),
            store,
            tenants,
        }
    }

    /// Creates or updates a customer (`POST /customers`): its gameball id.
    pub async fn upsert(&self, tenant: TenantId, body: Value) -> Result<Success, Error> {
        self.ledger.call(tenant, Call::Customer, body).await
    }

    /// Records a customer's events (`POST /events`), crediting configured rewards.
    pub async fn events(&self, tenant: TenantId, body: Value) -> Result<Success, Error> {
        self.ledger.call(tenant, Call::Events, body).await
    }

    async fn find(&self, tenant: TenantId, id: &str) -> Result<store::CustomerView, Error> {
        self.store
            .customer(tenant, id)
            .await?
            .ok_or_else(|| Error::customer_not_found(id))
    }

    pub async fn profile(&self, tenant: TenantId, id: &str) -> Result<CustomerView, Error> {
        Ok(profile_view(self.find(tenant, id).await?))
    }

    /// Deletes the profile and its ledger.
    pub async fn delete(&self, tenant: TenantId, id: &str) -> Result<CustomerDeleted, Error> {
        if !self.store.delete_customer(tenant, id).await? {
            return Err(Error::customer_not_found(id));
        }
        Ok(CustomerDeleted {
            customer_id: id.to_owned(),
            message: "Customer deleted successfully".into(),
        })
    }

    /// Attaches (or removes) tags of an existing customer, atomically: `tags`
    /// as a body names them (an array, or a comma-separated string).
    pub async fn change_tags(
        &self,
        tenant: TenantId,
        id: &str,
        tags: Vec<Value>,
        attach: bool,
    ) -> Result<Done, Error> {
        let change = customers::tag_change(id, tags, attach)?;
        self.ledger.apply(tenant, change.into()).await?;
        Ok(Done {
            success: true,
            message: if attach {
                "Tags attached"
            } else {
                "Tags removed"
            }
            .into(),
        })
    }

    /// The tags a `/customers/{id}/tags` body names.
    pub fn tags_of(body: Value) -> Result<Vec<Value>, Error> {
        Ok(customers::tag_list(body)?)
    }

    async fn movements(
        &self,
        tenant: TenantId,
        id: &str,
        limit: u32,
        before: Option<i64>,
    ) -> Result<Page<TransactionView>, Error> {
        let f = MovementFilter {
            customer_id: Some(id.to_owned()),
            after: before,
            limit: Page::<TransactionView>::fetch(limit),
            newest_first: true,
            ..MovementFilter::default()
        };
        let _share = self.ledger.listings.enter(tenant).await?;
        let rows = self.store.list_movements(tenant, &f).await?;
        Ok(Page::cut(rows, limit, |m| m.id).map(listings::view))
    }

    /// `GET /customers/{customerId}/transactions`: the customer's movements,
    /// newest first, paged by `before` (the previous page's `next`).
    pub async fn history(
        &self,
        tenant: TenantId,
        id: &str,
        page: crate::PageQuery,
    ) -> Result<TransactionList, Error> {
        let (limit, before) = HISTORY.read(page)?;
        self.find(tenant, id).await?;
        let page = self.movements(tenant, id, limit, before).await?;
        Ok(TransactionList {
            has_more: page.next.is_some(),
            next: page.next,
            transactions: page.items,
        })
    }

    /// The profile, the balance and a page of movements (newest first, before
    /// `before`) of a customer, reading the customer once.
    pub async fn overview(
        &self,
        tenant: TenantId,
        id: &str,
        limit: u32,
        before: Option<i64>,
    ) -> Result<CustomerOverview, Error> {
        let (view, settings) = tokio::try_join!(
            self.store.customer(tenant, id),
            self.tenants.program_settings(tenant)
        )?;
        let view = view.ok_or_else(|| Error::customer_not_found(id))?;
        let now = to_millis(OffsetDateTime::now_utc());
        let balance = balance_view(&view.record.ledger.balance(now), &settings);
        let movements = self.movements(tenant, id, limit, before).await?;
        Ok(CustomerOverview {
            profile: profile_view(view),
            balance,
            movements,
        })
    }
}
