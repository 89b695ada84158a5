//! Ledger items (SPEC §5.3–§5.6): balance inquiries, adjustments, cashback, redemptions and holds, parsed into typed operations.

use crate::fields;
use crate::ids::{CustomerId, reported_customer_id};
use crate::ledger::Millis;
use crate::outcome::{ItemFailure, NaturalKey, ParseResult, Rejected};
use item_fields::Fields;
use rust_decimal::Decimal;
use serde_json::Value;

pub const MAX_TRANSACTION_ID_CHARS: usize = 200;

/// A parser of one kind of ledger item.
pub type Parser = fn(Value) -> ParseResult<LedgerItem>;
pub const MAX_REASON_CHARS: usize = 255;

/// How much an operation moves: points, or money converted by the program's factors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    Points(i64),
    Amount(Decimal),
}

/// What a redemption spends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedeemWith {
    Quantity(Quantity),
    Hold(String),
}

/// One ledger operation on one customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerOp {
    Balance,
    Adjust {
        /// Signed, never zero.
        quantity: Quantity,
        /// `None` in a batch item: the engine names it `adj-<jobId>-<index>`.
        transaction_id: Option<String>,
        reason: Option<String>,
        expiry_after_days: Option<u32>,
    },
    Cashback {
        transaction_id: String,
        transaction_time: Millis,
        amount: Decimal,
        return_window_days: Option<u32>,
    },
    Redeem {
        transaction_id: String,
        transaction_time: Millis,
        with: RedeemWith,
    },
    Hold {
        transaction_time: Millis,
        quantity: Quantity,
    },
    Release {
        reference: String,
    },
    Order {
        order_id: String,
        order_date: Millis,
        total_paid: Decimal,
        return_window_days: Option<u32>,
        /// A hold consumed as a redemption with the order.
        hold_reference: Option<String>,
    },
    Refund {
        refund_transaction_id: String,
        reverse_transaction_id: String,
        transaction_time: Millis,
        /// `None` refunds what is left of the reversed transaction.
        refund_amount: Option<Decimal>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerItem {
    pub customer_id: CustomerId,
    pub op: LedgerOp,
}

impl LedgerItem {
    /// The transaction id this item would use, when it names one. Orders use
    /// their order id: they are transactions too (one namespace per tenant).
    pub fn transaction_id(&self) -> Option<&str> {
        match &self.op {
            LedgerOp::Adjust { transaction_id, .. } => transaction_id.as_deref(),
            LedgerOp::Cashback { transaction_id, .. } | LedgerOp::Redeem { transaction_id, .. } => {
                Some(transaction_id)
            }
            LedgerOp::Order { order_id, .. } => Some(order_id),
            LedgerOp::Refund {
                refund_transaction_id,
                ..
            } => Some(refund_transaction_id),
            _ => None,
        }
    }

    /// The earlier transaction this item reads (a refund's reversed one).
    pub fn reference_id(&self) -> Option<&str> {
        match &self.op {
            LedgerOp::Refund {
                reverse_transaction_id,
                ..
            } => Some(reverse_transaction_id),
            _ => None,
        }
    }

    /// The item's own time, with its field name, when it has one (checked against 9007).
    pub fn transaction_time(&self) -> Option<(&'static str, Millis)> {
        match self.op {
            LedgerOp::Cashback {
                transaction_time, ..
            }
            | LedgerOp::Redeem {
                transaction_time, ..
            }
            | LedgerOp::Hold {
                transaction_time, ..
            }
            | LedgerOp::Refund {
                transaction_time, ..
            } => Some(("transactionTime", transaction_time)),
            LedgerOp::Order { order_date, .. } => Some(("orderDate", order_date)),
            _ => None,
        }
    }

    /// How many movements the item may record (ids the store allocates up front).
    pub fn movements_needed(&self) -> usize {
        match &self.op {
            LedgerOp::Balance => 0,
            LedgerOp::Order {
                hold_reference: Some(_),
                ..
            }
            | LedgerOp::Refund { .. } => 2,
            _ => 1,
        }
    }

    /// Unknown customers are created by earning operations only.
    pub fn creates_customer(&self) -> bool {
        matches!(self.op, LedgerOp::Cashback { .. } | LedgerOp::Order { .. })
    }
}

/// Reads the customer and the item's natural key, then the op's own fields.
fn parse_with(
    item: Value,
    key_field: Option<&'static str>,
    op: impl FnOnce(&mut Fields) -> Result<LedgerOp, ItemFailure>,
) -> ParseResult<LedgerItem> {
    let Value::Object(obj) = item else {
        return Err(Rejected::new(
            None,
            ItemFailure::invalid("item: must be a JSON object"),
        ));
    };
    let key = key_field.and_then(|f| match obj.get(f) {
        Some(Value::String(s)) => Some(match f {
            "orderId" => NaturalKey::Order(s.clone()),
            "refundTransactionId" => NaturalKey::Refund(s.clone()),
            _ => NaturalKey::Transaction(s.clone()),
        }),
        _ => None,
    });
    let customer_id = match CustomerId::from_item(&obj) {
        Ok(id) => id,
        Err(f) => return Err(Rejected::new(reported_customer_id(&obj), f).with_key(key)),
    };
    let mut fields = Fields { obj };
    match op(&mut fields) {
        Ok(op) => Ok(LedgerItem { customer_id, op }),
        Err(f) => Err(Rejected::new(Some(customer_id.into_string()), f).with_key(key)),
    }
}

/// `balance-inquiry` item: `{customerId}`.
pub fn parse_balance(item: Value) -> ParseResult<LedgerItem> {
    parse_with(item, None, |_| Ok(LedgerOp::Balance))
}

/// `balance-adjustment` item: `amount` is signed points (≠ 0).
pub fn parse_adjustment(item: Value) -> ParseResult<LedgerItem> {
    parse_with(item, Some("transactionId"), |f| {
        let transaction_id = f.id("transactionId")?;
        let points = f
            .integer("amount")?
            .ok_or_else(|| ItemFailure::missing("amount"))?;
        if points == 0 {
            return Err(ItemFailure::invalid("amount: must not be 0"));
        }
        let expiry_after_days = expiry_after(f, points < 0, "amount > 0")?;
        Ok(LedgerOp::Adjust {
            quantity: Quantity::Points(points),
            transaction_id,
            reason: f.text("reason", MAX_REASON_CHARS)?,
            expiry_after_days,
        })
    })
}

/// `expiryAfter`: days before added points expire; `0` means not given (as
/// Gameball clients send it), and a deduction may not have one.
fn expiry_after(
    f: &mut Fields,
    deduction: bool,
    additions: &str,
) -> Result<Option<u32>, ItemFailure> {
    let days = f
        .days("expiryAfter", crate::settings::MAX_DAYS)?
        .filter(|d| *d > 0);
    if days.is_some() && deduction {
        return Err(ItemFailure::invalid(format!(
            "expiryAfter: only for additions ({additions})"
        )));
    }
    Ok(days)
}

/// `POST /transactions/manual` (Gameball): `transactionId`, `username` and `reason`
/// required; exactly one of `points` / `amount` (money).
pub fn parse_manual(item: Value) -> ParseResult<LedgerItem> {
    parse_with(item, Some("transactionId"), |f| {
        let transaction_id = f.required_id("transactionId")?;
        f.required_text("username", MAX_REASON_CHARS)?;
        let reason = f.required_text("reason", MAX_REASON_CHARS)?;
        let quantity = match (f.integer("points")?, f.money("amount")?) {
            (Some(p), None) => Quantity::Points(p),
            (None, Some(a)) => Quantity::Amount(a),
            (None, None) => return Err(ItemFailure::missing("points")),
            (Some(_), Some(_)) => {
                return Err(ItemFailure::invalid(
                    "points: give either points or amount, not both",
                ));
            }
        };
        if matches!(quantity, Quantity::Points(0))
            || matches!(quantity, Quantity::Amount(a) if a.is_zero())
        {
            return Err(ItemFailure::invalid("points: must not be 0"));
        }
        let deduction = match quantity {
            Quantity::Points(p) => p < 0,
            Quantity::Amount(a) => a.is_sign_negative(),
        };
        let expiry_after_days = expiry_after(f, deduction, "points > 0")?;
        Ok(LedgerOp::Adjust {
            quantity,
            transaction_id: Some(transaction_id),
            reason: Some(reason),
            expiry_after_days,
        })
    })
}

/// `cashback` item and `POST /transactions/cashback`.
pub fn parse_cashback(item: Value) -> ParseResult<LedgerItem> {
    parse_with(item, Some("transactionId"), |f| {
        let transaction_id = f.required_id("transactionId")?;
        let transaction_time = f.required_time("transactionTime")?;
        let amount = f
            .non_negative_money("amount")?
            .ok_or_else(|| ItemFailure::missing("amount"))?;
        let return_window_days = match f.take("configurations") {
            None => None,
            Some(Value::Object(c)) => Fields { obj: c }
                .days("returnWindow", crate::settings::MAX_DAYS)
                .map_err(|e| ItemFailure::new(e.code, format!("configurations.{}", e.message)))?,
            Some(_) => {
                return Err(ItemFailure::invalid("configurations: must be an object"));
            }
        };
        Ok(LedgerOp::Cashback {
            transaction_id,
            transaction_time,
            amount,
            return_window_days,
        })
    })
}

/// `redeem` item and `POST /transactions/redeem`: exactly one of `amount`, `points`, `holdReference`.
pub fn parse_redeem(item: Value) -> ParseResult<LedgerItem> {
    parse_with(item, Some("transactionId"), |f| {
        let transaction_id = f.required_id("transactionId")?;
        let transaction_time = f.required_time("transactionTime")?;
        let amount = f.positive_money("amount")?;
        let points = f.positive_integer("points")?;
        let hold = f.id("holdReference")?;
        let with = match (amount, points, hold) {
            (Some(a), None, None) => RedeemWith::Quantity(Quantity::Amount(a)),
            (None, Some(p), None) => RedeemWith::Quantity(Quantity::Points(p)),
            (None, None, Some(h)) => RedeemWith::Hold(h),
            (None, None, None) => return Err(ItemFailure::missing("amount")),
            _ => {
                return Err(ItemFailure::invalid(
                    "amount: give exactly one of amount, points or holdReference",
                ));
            }
        };
        Ok(LedgerOp::Redeem {
            transaction_id,
            transaction_time,
            with,
        })
    })
}

/// `POST /transactions/hold`: exactly one of `pointsToHold` / `amountToHold`.
pub fn parse_hold(item: Value) -> ParseResult<LedgerItem> {
    parse_with(item, None, |f| {
        let transaction_time = f.required_time("transactionTime")?;
        let quantity = match (
            f.positive_integer("pointsToHold")?,
            f.positive_money("amountToHold")?,
        ) {
            (Some(p), None) => Quantity::Points(p),
            (None, Some(a)) => Quantity::Amount(a),
            (None, None) => return Err(ItemFailure::missing("pointsToHold")),
            (Some(_), Some(_)) => {
                return Err(ItemFailure::invalid(
                    "pointsToHold: give either pointsToHold or amountToHold, not both",
                ));
            }
        };
        Ok(LedgerOp::Hold {
            transaction_time,
            quantity,
        })
    })
}

/// `orders` item and `POST /orders` (SPEC §5.7).
pub fn parse_order(item: Value) -> ParseResult<LedgerItem> {
    parse_with(item, Some("orderId"), |f| {
        let order_id = f.required_id("orderId")?;
        let order_date = f.required_time("orderDate")?;
        let total_paid = f
            .non_negative_money("totalPaid")?
            .ok_or_else(|| ItemFailure::missing("totalPaid"))?;
        for money in ["totalPrice", "totalDiscount", "totalShipping", "totalTax"] {
            f.non_negative_money(money)?;
        }
        for (name, kind) in [
            ("lineItems", fields::Kind::Array),
            ("extra", fields::Kind::Object),
            ("merchant", fields::Kind::Object),
            ("guest", fields::Kind::Bool),
            ("channel", fields::Kind::Text(50)),
        ] {
            if let Some(v) = f.take(name) {
                fields::check(&name, kind, &v)?;
            }
        }
        let hold_reference = match f.take("redemption") {
            None => None,
            Some(Value::Object(r)) => Fields { obj: r }
                .id("pointsHoldReference")
                .map_err(|e| ItemFailure::new(e.code, format!("redemption.{}", e.message)))?,
            Some(_) => return Err(ItemFailure::invalid("redemption: must be an object")),
        };
        let return_window_days = match f.take("cashbackConfigurations") {
            None => None,
            Some(Value::Object(c)) => Fields { obj: c }
                .days("returnWindow", crate::settings::MAX_DAYS)
                .map_err(|e| {
                    ItemFailure::new(e.code, format!("cashbackConfigurations.{}", e.message))
                })?,
            Some(_) => {
                return Err(ItemFailure::invalid(
                    "cashbackConfigurations: must be an object",
                ));
            }
        };
        Ok(LedgerOp::Order {
            order_id,
            order_date,
            total_paid,
            return_window_days,
            hold_reference,
        })
    })
}

/// `POST /transactions/refund` (SPEC §5.9).
pub fn parse_refund(item: Value) -> ParseResult<LedgerItem> {
    parse_with(item, Some("refundTransactionId"), |f| {
        let refund_transaction_id = f.required_id("refundTransactionId")?;
        let reverse_transaction_id = f.required_id("reverseTransactionId")?;
        let transaction_time = f.required_time("transactionTime")?;
        Ok(LedgerOp::Refund {
            refund_transaction_id,
            reverse_transaction_id,
            transaction_time,
            refund_amount: f.positive_money("refundAmount")?,
        })
    })
}

/// `POST /orders/reward-preview`: the customer when named (optional), and what
/// was paid — the order's other fields are read by nothing and ignored.
pub fn parse_reward_preview(item: Value) -> Result<(Option<CustomerId>, Decimal), ItemFailure> {
    let Value::Object(obj) = item else {
        return Err(ItemFailure::invalid("body: must be a JSON object"));
    };
    let customer_id = match obj.get("customerId") {
        None | Some(Value::Null) => None,
        Some(_) => Some(CustomerId::from_item(&obj)?),
    };
    let mut f = Fields { obj };
    let total_paid = f
        .non_negative_money("totalPaid")?
        .ok_or_else(|| ItemFailure::missing("totalPaid"))?;
    Ok((customer_id, total_paid))
}

/// An `orders/transactions` item: an order id string.
pub fn parse_order_id(item: Value) -> ParseResult<String> {
    match item {
        Value::String(s) if s.trim().is_empty() => Err(Rejected::new(
            None,
            ItemFailure::invalid("item: the order id must not be empty"),
        )),
        Value::String(s) if s.chars().count() > MAX_TRANSACTION_ID_CHARS => Err(Rejected::new(
            Some(s),
            ItemFailure::too_long("item", MAX_TRANSACTION_ID_CHARS),
        )),
        Value::String(s) => match crate::fields::identifier(&"item", &s) {
            Ok(()) => Ok(s),
            Err(f) => Err(Rejected::new(Some(s), f)),
        },
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(Rejected::new(
            None,
            ItemFailure::invalid("item: must be an order id string"),
        )),
    }
}

mod item_fields;

#[cfg(test)]
mod tests;
