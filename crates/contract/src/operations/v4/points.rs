//! The points' operations: single calls, listings, holds, the program.

use crate::operations::*;

/// The single calls that move points, and an order's movements.
pub(super) fn points(b: &mut Builder) {
    let calls: [(&str, &str, &str, &str, &str, &'static str); 6] = [
        (
            "/transactions/cashback",
            "rewardCashback",
            "Earn points on an amount paid (creates unknown customers)",
            "Cashback",
            "CashbackRewarded",
            "The points earned.",
        ),
        (
            "/transactions/redeem",
            "redeemPoints",
            "Spend points, an amount of money, or a hold",
            "Redemption",
            "PointsRedeemed",
            "The points spent.",
        ),
        (
            "/transactions/manual",
            "adjustPoints",
            "Add or deduct points by hand",
            "ManualTransaction",
            "PointsAdjusted",
            "The points added (or deducted, negative).",
        ),
        (
            "/transactions/refund",
            "refund",
            "Refund a cashback, an order or a redemption, fully or in part",
            "Refund",
            "Refunded",
            "What the refund moved.",
        ),
        (
            "/transactions/hold",
            "holdPoints",
            "Reserve points for a later redemption",
            "Hold",
            "PointsHeld",
            "The hold and its reference.",
        ),
        (
            "/orders",
            "rewardOrder",
            "Record an order: earns on `totalPaid`, may spend a hold",
            "Order",
            "OrderRewarded",
            "The points earned and redeemed.",
        ),
    ];
    for (path, id, summary, body, ok, description) in calls {
        let op = b
            .add(
                "post",
                path,
                id,
                "Points",
                summary,
                Keys::Secret,
                Some(body.into()),
                (200, ok, description),
            )
            .refuses(&[404, 409])
            .links(&[("getBalance", "customerId", "$request.body#/customerId")]);
        if id == "holdPoints" {
            op.links(&[
                ("getHold", "holdReference", "$response.body#/holdReference"),
                (
                    "releaseHold",
                    "holdReference",
                    "$response.body#/holdReference",
                ),
            ]);
        }
        if id == "rewardOrder" {
            op.links(&[("getOrderTransactions", "orderId", "$request.body#/orderId")]);
        }
    }
    b.add(
        "get",
        "/orders/{orderId}/transactions",
        "getOrderTransactions",
        "Points",
        "Every movement of an order",
        Keys::Secret,
        None,
        (
            200,
            "OrderTransactionList",
            "The order's movements, oldest first.",
        ),
    )
    .param(string_param("orderId", "The order's id."))
    .refuses(&[404]);
}

/// The movements listings, the reward preview and an order's reversal.
pub(super) fn listings(b: &mut Builder) {
    for (path, id, summary, ok, paged) in [
        (
            "/transactions",
            "listTransactions",
            "The tenant's (or a customer's) movements, oldest first",
            "TransactionList",
            true,
        ),
        (
            "/transactions/count",
            "countTransactions",
            "How many movements match the filters",
            "TransactionCount",
            false,
        ),
    ] {
        let op = b
            .add(
                "get",
                path,
                id,
                "Points",
                summary,
                Keys::Secret,
                None,
                (200, ok, "Matching movements."),
            )
            .param(query(
                "customerId",
                "Only this customer's movements.",
                json!({"type": "string"}),
            ))
            .param(query(
                "type",
                "Only movements of this type.",
                json!({"type": "string", "enum": domain::movement::TRANSACTION_TYPE_NAMES}),
            ))
            .param(query(
                "direction",
                "`+` points added, `-` points taken.",
                json!({"type": "string", "enum": ["+", "-"]}),
            ))
            .param(query(
                "from",
                "Transaction time from (included).",
                json!({"type": "string", "format": "date-time"}),
            ))
            .param(query(
                "to",
                "Transaction time to (excluded).",
                json!({"type": "string", "format": "date-time"}),
            ))
            .param(query(
                "transactionId",
                "Only movements with this transaction id.",
                json!({"type": "string"}),
            ))
            .refuses(&[422]);
        if paged {
            op.param(query(
                "startAfter",
                "The `next` of the previous page.",
                json!({"type": "integer", "format": "int64"}),
            ))
            .param(query(
                "limit",
                "Movements per page (default 50).",
                json!({"type": "integer", "minimum": 1, "maximum": 200}),
            ));
        }
    }
    b.add(
        "post",
        "/orders/reward-preview",
        "previewOrderReward",
        "Points",
        "The points an order would earn (nothing is written)",
        Keys::Secret,
        Some("RewardPreviewRequest".into()),
        (200, "RewardPreview", "The points at the tenant's factors."),
    );
    b.add(
        "delete",
        "/orders/{orderId}/transactions",
        "reverseOrder",
        "Points",
        "Reverse an order as its full refund would",
        Keys::Secret,
        None,
        (
            200,
            "Refunded",
            "What the reversal moved (refund id `reversal-{gameballTransactionId}` of the order).",
        ),
    )
    .param(string_param("orderId", "The order's id."))
    .refuses(&[404, 409, 422]);
}

/// Holds, and the program's settings.
pub(super) fn holds_and_program(b: &mut Builder) {
    let hold = || {
        string_param(
            "holdReference",
            "The reference `POST /transactions/hold` answered.",
        )
    };
    b.add(
        "get",
        "/transactions/hold/{holdReference}",
        "getHold",
        "Points",
        "A hold and its state",
        Keys::Secret,
        None,
        (200, "HoldView", "The hold."),
    )
    .param(hold())
    .refuses(&[404]);
    b.add(
        "delete",
        "/transactions/hold/{holdReference}",
        "releaseHold",
        "Points",
        "Release an active hold",
        Keys::Secret,
        None,
        (
            200,
            "HoldReleased",
            "Released: its points are available again.",
        ),
    )
    .param(hold())
    .refuses(&[404]);
    b.add(
        "get",
        "/configurations/cashback",
        "getCashbackConfiguration",
        "Program",
        "How money spent earns points",
        Keys::Secret,
        None,
        (
            200,
            "CashbackConfiguration",
            "The tenant's earning settings.",
        ),
    );
    b.add(
        "get",
        "/configurations/redemption",
        "getRedemptionConfiguration",
        "Program",
        "What points are worth",
        Keys::Secret,
        None,
        (
            200,
            "RedemptionConfiguration",
            "The tenant's redemption settings.",
        ),
    );
}
