//! `loyalbatch tenant webhook add|list|remove NAME …`: a tenant's webhook endpoints, as `/webhooks` manages them over HTTP.

use anyhow::{Result, anyhow, bail};
use store::{Store, TenantId};

#[derive(clap::Subcommand, Debug)]
pub enum WebhookCommand {
    /// Register an endpoint and print its signing secret (shown only now).
    Add {
        /// The tenant's name.
        name: String,
        /// The endpoint: an http or https URL.
        url: String,
        /// An event to send (repeatable): batch.completed, batch.failed, batch.stopped (default: all three).
        #[arg(long = "event")]
        events: Vec<String>,
        /// Allow a loopback, private or link-local address (as `serve --webhook-allow-private` delivers to).
        #[arg(long)]
        allow_private: bool,
        #[arg(long)]
        json: bool,
    },
    /// List a tenant's endpoints (never their secrets).
    List {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Remove an endpoint and its deliveries.
    Remove {
        name: String,
        /// The endpoint's id (as `list` shows it).
        id: i64,
    },
}

async fn tenant_id(store: &dyn Store, name: &str) -> Result<TenantId> {
    store
        .list_tenants()
        .await?
        .into_iter()
        .find(|t| t.name == name)
        .map(|t| t.id)
        .ok_or_else(|| anyhow!("no tenant named '{name}'"))
}

pub async fn run(store: &dyn Store, command: WebhookCommand) -> Result<()> {
    match command {
        WebhookCommand::Add {
            name,
            url,
            events,
            allow_private,
            json,
        } => {
            let tenant = tenant_id(store, &name).await?;
            let events = (!events.is_empty()).then_some(events);
            let (url, events) =
                server::webhooks::check_endpoint(&url, events.as_deref(), allow_private)
                    .await
                    .map_err(|e| anyhow!(e.message))?;
            let w = server::webhooks::register(store, tenant, url, events)
                .await
                .map_err(|e| anyhow!(e.message))?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({"id": w.id, "url": w.url, "events": w.events, "secret": w.secret})
                );
            } else {
                println!("webhook:  {}", w.id);
                println!("url:      {}", w.url);
                println!("events:   {}", w.events.join(", "));
                println!("secret:   {}   (shown only now)", w.secret);
            }
        }
        WebhookCommand::List { name, json } => {
            let tenant = tenant_id(store, &name).await?;
            let list = store.webhooks(tenant).await?;
            if json {
                let views: Vec<_> = list.into_iter().map(server::webhooks::view).collect();
                println!("{}", serde_json::to_string(&views)?);
            } else {
                for w in list {
                    println!("{}\t{}\t{}", w.id, w.url, w.events.join(","));
                }
            }
        }
        WebhookCommand::Remove { name, id } => {
            let tenant = tenant_id(store, &name).await?;
            if !store.delete_webhook(tenant, id).await? {
                bail!("tenant '{name}' has no webhook {id}");
            }
            println!("removed webhook {id}");
        }
    }
    Ok(())
}
