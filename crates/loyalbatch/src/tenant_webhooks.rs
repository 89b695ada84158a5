//! `loyalbatch tenant webhook add|list|remove NAME …`: a tenant's webhook endpoints, as `/webhooks` manages them over HTTP.

use anyhow::{Result, anyhow, bail};

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

/// Each command one call of the application layer: the endpoint checked as
/// `POST /webhooks` checks it (with `--allow-private` as the server's flag).
pub async fn run(app: &app::App, command: WebhookCommand) -> Result<()> {
    let fail = |e: app::Error| anyhow!("{e}");
    match command {
        WebhookCommand::Add {
            name,
            url,
            events,
            allow_private,
            json,
        } => {
            let tenant = app.tenants().id_by_name(&name).await.map_err(fail)?;
            let events = (!events.is_empty()).then_some(events);
            let w = app
                .webhooks()
                .register_with(tenant, &url, events.as_deref(), allow_private)
                .await
                .map_err(fail)?;
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
            let tenant = app.tenants().id_by_name(&name).await.map_err(fail)?;
            let list = app.webhooks().list(tenant).await.map_err(fail)?;
            if json {
                let views: Vec<_> = list.into_iter().map(app::webhooks::view).collect();
                println!("{}", serde_json::to_string(&views)?);
            } else {
                for w in list {
                    println!("{}\t{}\t{}", w.id, w.url, w.events.join(","));
                }
            }
        }
        WebhookCommand::Remove { name, id } => {
            let tenant = app.tenants().id_by_name(&name).await.map_err(fail)?;
            match app.webhooks().remove(tenant, &id.to_string()).await {
                Ok(_) => println!("removed webhook {id}"),
                Err(e) if e.is_not_found() => bail!("tenant '{name}' has no webhook {id}"),
                Err(e) => return Err(fail(e)),
            }
        }
    }
    Ok(())
}
