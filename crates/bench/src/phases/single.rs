//! Phase 3: the single-call path — M customers via `POST /customers`, one at a time over one connection.

use crate::backend::Backend;
use crate::cpu::{Lap, Stopwatch};
use crate::instance::Instance;
use crate::stats::{Latencies, per_second};
use crate::workload;
use anyhow::{Result, ensure};
use engine::EngineConfig;

pub struct SingleRun {
    pub calls: usize,
    pub elapsed: Lap,
    pub latency: Latencies,
}

impl SingleRun {
    pub fn items_per_second(&self) -> f64 {
        per_second(self.calls, self.elapsed.elapsed)
    }
}

pub async fn run(backend: &Backend, calls: usize, config: EngineConfig) -> Result<SingleRun> {
    let instance = Instance::start(backend, config).await?;
    let api = instance.api()?;
    let bodies: Vec<Vec<u8>> = (0..calls).map(|i| workload::single_body("s", i)).collect();

    let mut latencies = Vec::with_capacity(calls);
    let watch = Stopwatch::start()?;
    // Sequential on purpose: each call waits for the previous answer, as an
    // integration calling per customer does, so one keep-alive connection serves all.
    for body in bodies {
        latencies.push(api.upsert_customer(body).await?);
    }
    let elapsed = watch.lap()?;

    let rows = instance.customer_rows().await?;
    ensure!(
        rows == calls,
        "{calls} customers upserted but {rows} rows stored"
    );
    drop(api);
    instance.stop().await?;
    Ok(SingleRun {
        calls,
        elapsed,
        latency: Latencies::of(latencies),
    })
}
