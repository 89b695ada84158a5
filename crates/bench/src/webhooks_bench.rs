//! `loyalbatch-bench webhooks`: what webhooks cost and how fast they go out.
//!
//! 1. Batch throughput with an endpoint registered and the deliverer running,
//!    against the same run without, alternating (customers, end to end).
//! 2. Deliveries per second: `--events` one-item jobs end with nobody
//!    delivering (their deliveries wait, pending); then a deliverer starts and
//!    the clock runs until every delivery is recorded delivered. The receiver
//!    is an HTTP server in this process answering 200 at once.

use crate::api::verify_jobs;
use crate::backend::Backend;
use crate::instance::Instance;
use crate::phases::{DRAIN_DEADLINE, submit_all};
use crate::stats::{list, median, per_second};
use crate::workload;
use anyhow::{Context, Result, ensure};
use domain::webhooks::EventType;
use engine::EngineConfig;
use engine::Shutdown;
use engine::webhooks::{Deliverer, DeliveryConfig};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use store::NewWebhook;
use wire::JobState;

pub struct WebhookSettings {
    pub items: usize,
    pub connections: usize,
    pub events: usize,
    pub rounds: usize,
    pub config: EngineConfig,
}

/// An endpoint answering 200 to everything, counting requests.
struct Receiver {
    url: String,
    count: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start() -> Result<Receiver> {
        let count = Arc::new(AtomicUsize::new(0));
        let seen = count.clone();
        let app = axum::Router::new().fallback(move || {
            seen.fetch_add(1, Ordering::Relaxed);
            async { "" }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/hook", listener.local_addr()?);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Receiver { url, count, task })
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn delivery_config() -> DeliveryConfig {
    DeliveryConfig {
        allow_private: true,
        ..DeliveryConfig::default()
    }
}

/// Registers the receiver for every event of the benchmark tenant.
async fn register(instance: &Instance, receiver: &Receiver) -> Result<()> {
    let store = instance.store();
    let tenant = store
        .list_tenants()
        .await?
        .first()
        .context("the benchmark tenant")?
        .id;
    store
        .create_webhook(
            tenant,
            NewWebhook {
                url: receiver.url.clone(),
                events: EventType::ALL.to_vec(),
                secret: "whsec_bench".into(),
            },
            16,
            time::OffsetDateTime::now_utc(),
        )
        .await?;
    Ok(())
}

const DELIVERED: &str = "SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'";

/// Items per second of one customers run, with webhooks on or off.
async fn batch_run(backend: &Backend, s: &WebhookSettings, webhooks: bool) -> Result<f64> {
    let mut instance = Instance::start(backend, s.config.clone()).await?;
    let receiver = Receiver::start().await?;
    let stop = Shutdown::new();
    let deliverer = if webhooks {
        register(&instance, &receiver).await?;
        let d = Deliverer::new(instance.store(), delivery_config()).map_err(anyhow::Error::msg)?;
        Some(tokio::spawn(d.run(stop.clone())))
    } else {
        None
    };
    instance.start_engine();
    let api = instance.api()?;
    let bodies: Vec<(u32, Vec<u8>)> = workload::batch_bodies("c", s.items).collect();
    let started = Instant::now();
    let (submitted, _) = submit_all(
        std::slice::from_ref(&api),
        "customers",
        bodies.into_iter(),
        s.connections,
    )
    .await?;
    api.wait_until_drained(DRAIN_DEADLINE).await?;
    let elapsed = started.elapsed();
    verify_jobs(&api.all_jobs().await?, &submitted, JobState::Completed)?;
    if let Some(task) = deliverer {
        // Not timed: every job's event reaches the receiver.
        let deadline = Instant::now() + Duration::from_secs(60);
        while instance.count(DELIVERED).await? < submitted.len() {
            ensure!(
                Instant::now() < deadline,
                "the events were not all delivered"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        ensure!(receiver.count.load(Ordering::Relaxed) >= submitted.len());
        stop.cancel();
        task.await?;
    }
    drop(api);
    instance.stop().await?;
    Ok(per_second(s.items, elapsed))
}

/// Deliveries per second: `events` pending deliveries, then a deliverer.
async fn delivery_run(backend: &Backend, s: &WebhookSettings) -> Result<(f64, usize)> {
    let mut instance = Instance::start(backend, s.config.clone()).await?;
    let receiver = Receiver::start().await?;
    register(&instance, &receiver).await?;
    instance.start_engine();
    let api = instance.api()?;
    let bodies = (0..s.events).map(|i| {
        let body = serde_json::json!({"body": [{"customerId": format!("e{i}")}]});
        (1, serde_json::to_vec(&body).expect("JSON"))
    });
    submit_all(
        std::slice::from_ref(&api),
        "customers",
        bodies,
        s.connections,
    )
    .await?;
    api.wait_until_drained(DRAIN_DEADLINE).await?;
    let pending = instance
        .count("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'")
        .await?;
    ensure!(
        pending == s.events,
        "{pending} deliveries pending, {} expected",
        s.events
    );

    let stop = Shutdown::new();
    let d = Deliverer::new(instance.store(), delivery_config()).map_err(anyhow::Error::msg)?;
    let started = Instant::now();
    let task = tokio::spawn(d.run(stop.clone()));
    let deadline = started + Duration::from_secs(600);
    while instance.count(DELIVERED).await? < s.events {
        ensure!(Instant::now() < deadline, "the deliveries did not finish");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    stop.cancel();
    task.await?;
    let requests = receiver.count.load(Ordering::Relaxed);
    drop(api);
    instance.stop().await?;
    Ok((per_second(s.events, elapsed), requests))
}

pub async fn run(backend: &Backend, s: WebhookSettings, date: String) -> Result<()> {
    let m = crate::machine::describe();
    println!(
        "loyalbatch-bench webhooks — {date} — {} — {} cores, {}",
        backend.name(),
        m.cpus,
        m.cpu_model
    );
    println!(
        "batch: {} customers in jobs of 1,000 over {} connections, {} rounds alternating; deliveries: {} one-item jobs",
        s.items, s.connections, s.rounds, s.events
    );
    let (mut off, mut on) = (Vec::new(), Vec::new());
    for round in 0..s.rounds {
        // Alternate which goes first, so drift over the run hits both alike.
        for webhooks in if round % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        } {
            eprintln!(
                "round {}/{}: webhooks {}…",
                round + 1,
                s.rounds,
                if webhooks { "on" } else { "off" }
            );
            let rate = batch_run(backend, &s, webhooks).await?;
            if webhooks {
                on.push(rate)
            } else {
                off.push(rate)
            }
        }
    }
    println!(
        "batch items/s, webhooks off: {} (median {:.0})",
        list(&off),
        median(&off)
    );
    println!(
        "batch items/s, webhooks on:  {} (median {:.0})",
        list(&on),
        median(&on)
    );
    println!("ratio on/off (medians): {:.3}", median(&on) / median(&off));
    eprintln!("deliveries: {} events…", s.events);
    let (rate, requests) = delivery_run(backend, &s).await?;
    println!(
        "deliveries/s: {rate:.0} ({} events, {requests} requests received)",
        s.events
    );
    Ok(())
}
