//! The connections this process can really hold: the file-descriptor limit is
//! raised as far as the system allows, the descriptors the process needs for
//! itself are kept aside, and the connections (with the small overflow still
//! answered 503) are fitted into the rest — so a flood of clients gets 503s or
//! closed sockets, never an `accept` failing with EMFILE or a database that
//! cannot open a connection.

use anyhow::{Result, bail};

/// Descriptors for the process's own files: standard streams, the listeners,
/// the runtime's epoll and event descriptors, logs, DNS lookups.
pub const BASE_RESERVE: u64 = 64;
/// Connections past the limit still answered (503, `/health`), at most.
const OVERFLOW: u64 = 64;
/// Fewer connections than this and the server refuses to start.
const MIN_CONNECTIONS: u64 = 8;

/// The connections served and the overflow answered past them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub connections: usize,
    pub overflow: usize,
}

/// The connections to serve under this process's descriptor limit, `kept`
/// descriptors aside; `wanted` is lowered (with a warning) to fit.
pub fn budget(wanted: u64, kept: u64) -> Result<Budget> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => fit(limit, wanted, kept),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the file-descriptor limit");
            Ok(Budget {
                connections: usize::try_from(wanted).unwrap_or(usize::MAX),
                overflow: OVERFLOW as usize,
            })
        }
    }
}

/// Connections and overflow within `limit` descriptors, `kept` aside.
fn fit(limit: u64, wanted: u64, kept: u64) -> Result<Budget> {
    let usable = limit.saturating_sub(kept);
    // One descriptor stays free for a socket accepted only to be closed.
    let overflow = (usable / 8).clamp(1, OVERFLOW);
    let room = usable.saturating_sub(overflow + 1);
    if room < MIN_CONNECTIONS {
        bail!(
            "the file-descriptor limit ({limit}) is too low: {kept} are kept for the database, webhook deliveries and the process's own files, leaving {room} for connections; raise it (ulimit -n) to at least {}, or lower --db-pool or --webhook-concurrency",
            kept + MIN_CONNECTIONS + overflow + 1
        );
    }
    let connections = wanted.min(room);
    if connections < wanted {
        tracing::warn!(
            wanted,
            connections,
            limit,
            "--max-connections lowered to fit the file-descriptor limit"
        );
    }
    Ok(Budget {
        connections: usize::try_from(connections).unwrap_or(usize::MAX),
        overflow: usize::try_from(overflow).unwrap_or(usize::MAX),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_and_overflow_leave_the_kept_descriptors_free() {
        // ulimit -n 256 with the default flags (pool 16, 64 webhook deliveries).
        let kept = BASE_RESERVE + 3 * 18 + 64;
        let b = fit(256, 1024, kept).unwrap();
        assert_eq!(
            b,
            Budget {
                connections: 64,
                overflow: 9
            }
        );
        assert!(b.connections as u64 + b.overflow as u64 + 1 + kept <= 256);
        // Plenty: what was asked, and the full overflow.
        let b = fit(1 << 20, 1024, kept).unwrap();
        assert_eq!(
            b,
            Budget {
                connections: 1024,
                overflow: 64
            }
        );
    }

    #[test]
    fn a_limit_that_leaves_no_room_is_refused_with_what_to_raise() {
        let e = fit(150, 1024, 182).unwrap_err().to_string();
        assert!(
            e.contains("(150) is too low") && e.contains("ulimit -n"),
            "{e}"
        );
        assert!(fit(190, 1024, 182).is_err(), "8 connections at least");
    }
}
