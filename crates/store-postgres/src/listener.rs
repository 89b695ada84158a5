//! `LISTEN` on a connection of its own: every job created by any node wakes this node's idle workers.

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_postgres::{AsyncMessage, Config, NoTls};
use tracing::{debug, warn};

/// Listens until the returned `Notify`'s last other owner is gone; reconnects after errors.
pub fn spawn(config: Config, channel: &'static str) -> Arc<Notify> {
    let notify = Arc::new(Notify::new());
    let weak = Arc::downgrade(&notify);
    tokio::spawn(async move {
        let mut delay = Duration::from_millis(100);
        while weak.strong_count() > 0 {
            match listen(&config, channel, &weak).await {
                Ok(()) => delay = Duration::from_millis(100),
                Err(e) => {
                    warn!(error = %e, "job notifications lost; reconnecting (workers still poll)");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(10));
                }
            }
        }
    });
    notify
}

async fn listen(
    config: &Config,
    channel: &str,
    notify: &std::sync::Weak<Notify>,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let (messages_tx, mut messages) = tokio::sync::mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        loop {
            let message = std::future::poll_fn(|cx| connection.poll_message(cx)).await;
            match message {
                Some(Ok(m)) => {
                    if messages_tx.send(Ok(m)).is_err() {
                        return;
                    }
                }
                Some(Err(e)) => {
                    let _ = messages_tx.send(Err(e));
                    return;
                }
                None => return,
            }
        }
    });
    client.batch_execute(&format!("LISTEN {channel}")).await?;
    debug!(channel, "listening for new jobs");
    let result = loop {
        let Some(message) = messages.recv().await else {
            break Ok(());
        };
        match message {
            Ok(AsyncMessage::Notification(_)) => match notify.upgrade() {
                Some(n) => n.notify_waiters(),
                None => break Ok(()),
            },
            Ok(_) => {}
            Err(e) => break Err(e),
        }
    };
    driver.abort();
    result
}
