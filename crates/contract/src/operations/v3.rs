//! The Gameball v3.0 operations (under `/api/v3.0/integrations`).

use super::*;

const TAG: &str = "Gameball v3.0";

/// The Gameball v3.0 routes (operation ids prefixed `v3`).
pub(super) fn add(b: &mut Builder) {
    let from = b.0.len();
    players(b);
    transactions(b);
    holds_batches_and_lists(b);
    for op in &mut b.0[from..] {
        op.v3 = true;
    }
}

/// Players (customers), their balances and tags, and events.
fn players(b: &mut Builder) {
    let player = || {
        string_param(
            "playerUniqueId",
            "The merchant's id of the player (customer).",
        )
    };
    b.add(
        "post",
        "/player",
        "v3CreatePlayer",
        TAG,
        "Create or update a player",
        Keys::Api,
        Some("v3.Player".into()),
        (200, "v3.PlayerSaved", "The player's `gameballId`."),
    );
    b.add(
        "get",
        "/player/{playerUniqueId}",
        "v3GetPlayer",
        TAG,
        "A player's profile",
        Keys::Secret,
        None,
        (200, "v3.PlayerView", "The profile."),
    )
    .param(player())
    .refuses(&[404]);
    b.add(
        "get",
        "/player/{playerUniqueId}/balance",
        "v3GetPlayerBalance",
        TAG,
        "A player's balance",
        Keys::Secret,
        None,
        (
            200,
            "v3.PlayerBalance",
            "`pointsBalance` (available) beside the v4 balance.",
        ),
    )
    .param(player())
    .refuses(&[404]);
    for (method, id, summary) in [
        ("post", "v3AttachTags", "Attach tags to a player"),
        ("delete", "v3RemoveTags", "Remove tags from a player"),
    ] {
        b.add(
            method,
            "/player/{playerUniqueId}/tags",
            id,
            TAG,
            summary,
            Keys::Secret,
            Some("CustomerTags".into()),
            (200, "Done", "Done."),
        )
        .param(player())
        .refuses(&[404, 422]);
    }
    b.add(
        "post",
        "/event",
        "v3SendEvent",
        TAG,
        "Record a player's events",
        Keys::Api,
        Some("v3.Event".into()),
        (200, "EventsAccepted", "Recorded."),
    );
}

/// The single calls that move points.
fn transactions(b: &mut Builder) {
    let calls: [(&str, &str, &str, &str, &'static str); 6] = [
        (
            "/transaction/cashback",
            "v3RewardCashback",
            "Earn points on an amount paid",
            "v3.Cashback",
            "v3.CashbackRewarded",
        ),
        (
            "/transaction/hold",
            "v3HoldPoints",
            "Reserve points worth `amount`",
            "v3.Hold",
            "v3.PointsHeld",
        ),
        (
            "/transaction/redeem",
            "v3RedeemPoints",
            "Spend `redeemedAmount` or a hold",
            "v3.Redeem",
            "v3.PointsRedeemed",
        ),
        (
            "/transaction/manual",
            "v3AdjustPoints",
            "Add or deduct points by hand",
            "v3.ManualTransaction",
            "v3.PointsAdjusted",
        ),
        (
            "/transaction/refund",
            "v3Refund",
            "Refund a transaction, fully or in part",
            "v3.Refund",
            "v3.Refunded",
        ),
        (
            "/order",
            "v3RewardOrder",
            "Record an order",
            "v3.Order",
            "v3.OrderRewarded",
        ),
    ];
    for (path, id, summary, body, ok) in calls {
        b.add(
            "post",
            path,
            id,
            TAG,
            summary,
            Keys::Secret,
            Some(body.into()),
            (200, ok, "Done."),
        )
        .refuses(&[404, 409]);
    }
}

/// Holds, the program's configuration, batches and the transactions list.
fn holds_batches_and_lists(b: &mut Builder) {
    b.add(
        "delete",
        "/transaction/hold/{holdReference}",
        "v3ReleaseHold",
        TAG,
        "Release an active hold",
        Keys::Secret,
        None,
        (200, "HoldReleased", "Released."),
    )
    .param(string_param("holdReference", "The hold's reference."))
    .refuses(&[404]);
    b.add(
        "get",
        "/config",
        "v3GetConfiguration",
        TAG,
        "The program's settings",
        Keys::Secret,
        None,
        (200, "v3.Configuration", "Earning and redemption settings."),
    );
    b.add(
        "post",
        "/batch",
        "v3CreateBatch",
        TAG,
        "Create a `cashback`, `redeem` or `balance` job",
        Keys::Secret,
        Some("v3.Batch".into()),
        (200, "v3.JobId", "The job's id alone, as the SDKs read it."),
    )
    .param(idempotency_key())
    .refuses(&[409, 429]);
    b.add(
        "get",
        "/batch/{jobId}",
        "v3GetJob",
        TAG,
        "A job's status and per-item results (the v4 status)",
        Keys::Secret,
        None,
        (200, "JobStatus", "The job."),
    )
    .param(job_id())
    .refuses(&[404]);
    b.add(
        "delete",
        "/batch/{jobId}",
        "v3StopJob",
        TAG,
        "Stop a queued or running job",
        Keys::Secret,
        None,
        (200, "JobStopped", "Stopped."),
    )
    .param(job_id())
    .refuses(&[404, 409]);
    let op = b.add(
        "get",
        "/transaction/list",
        "v3ListTransactions",
        TAG,
        "The tenant's movements, oldest first, by page",
        Keys::Secret,
        None,
        (200, "v3.TransactionPage", "A page of movements."),
    );
    for (name, description, schema) in [
        (
            "page",
            "The page (from 1; `page × limit` ≤ 10,000).",
            json!({"type": "integer", "minimum": 1}),
        ),
        (
            "limit",
            "Movements per page (default 50).",
            json!({"type": "integer", "minimum": 1, "maximum": 200}),
        ),
        (
            "direction",
            "`+` points added, `-` points taken.",
            json!({"type": "string", "enum": ["+", "-"]}),
        ),
        (
            "from",
            "Transaction time from (included).",
            json!({"type": "string", "format": "date-time"}),
        ),
        (
            "to",
            "Transaction time to (excluded).",
            json!({"type": "string", "format": "date-time"}),
        ),
        (
            "transactionId",
            "Only movements with this transaction id.",
            json!({"type": "string"}),
        ),
    ] {
        op.param(query(name, description, schema));
    }
    op.refuses(&[422]);
}
