//! Ledger rules by example, and a property test against a naive model.

use super::*;
use proptest::prelude::*;

const H: Millis = 60 * MINUTE;

/// Decides and applies, like the chunk code does.
fn run(
    l: &mut Ledger,
    id: i64,
    decide: impl FnOnce(&mut Ledger) -> Result<Entry, Refusal>,
) -> Result<Entry, Refusal> {
    let e = decide(l);
    if let Ok(e) = &e {
        l.apply(id, e);
    }
    e
}

fn credit(l: &mut Ledger, id: i64, now: Millis, points: i64, avail: Millis, exp: Option<Millis>) {
    let e = l.credit(now, points, avail, exp).unwrap();
    l.apply(id, &e);
}

#[test]
fn pending_points_become_available_exactly_at_available_at() {
    let mut l = Ledger::default();
    credit(&mut l, 1, 0, 100, 2 * DAY, None);
    let before = l.balance(2 * DAY - 1);
    assert_eq!((before.available, before.pending), (0, 100));
    assert_eq!(before.total(), 100);
    let at = l.balance(2 * DAY);
    assert_eq!((at.available, at.pending), (100, 0));
    assert_eq!(
        l.debit(2 * DAY - 1, 1),
        Err(Refusal::Insufficient { available: 0 })
    );
    assert!(l.debit(2 * DAY, 100).is_ok());
}

#[test]
fn points_expire_exactly_at_expires_at_and_report_the_next_expiry() {
    let mut l = Ledger::default();
    credit(&mut l, 1, 0, 30, 0, Some(10 * DAY));
    credit(&mut l, 2, 0, 20, 0, Some(10 * DAY));
    credit(&mut l, 3, 0, 50, 0, Some(20 * DAY));
    credit(&mut l, 4, 0, 5, 0, None);
    let b = l.balance(10 * DAY - 1);
    assert_eq!(b.available, 105);
    assert_eq!(b.next_expiring, Some((10 * DAY, 50)));
    let b = l.balance(10 * DAY);
    assert_eq!(b.available, 55);
    assert_eq!(b.next_expiring, Some((20 * DAY, 50)));
    assert_eq!(b.earned, 105, "earned points stay earned");
    assert_eq!(l.balance(20 * DAY).next_expiring, None);
}

#[test]
fn debits_spend_the_soonest_expiring_points_first() {
    let mut l = Ledger::default();
    credit(&mut l, 1, 0, 10, 0, None);
    credit(&mut l, 2, 0, 10, 0, Some(5 * DAY));
    credit(&mut l, 3, 0, 10, 0, Some(3 * DAY));
    let e = run(&mut l, 4, |l| l.debit(H, 15)).unwrap();
    assert_eq!(
        e,
        Entry::Debit {
            takes: vec![Take { lot: 3, points: 10 }, Take { lot: 2, points: 5 }]
        }
    );
    assert_eq!(l.balance(H).available, 15);
    assert_eq!(
        l.balance(5 * DAY).available,
        10,
        "the rest of lot 2 expired"
    );
}

#[test]
fn a_hold_reserves_points_and_expires_without_any_sweeper() {
    let mut l = Ledger::default();
    credit(&mut l, 1, 0, 100, 0, None);
    run(&mut l, 2, |l| l.hold(0, "h1".into(), 60, 10 * MINUTE)).unwrap();
    let b = l.balance(0);
    assert_eq!((b.available, b.pending, b.held), (40, 0, 60));
    assert_eq!(
        l.clone().debit(0, 41),
        Err(Refusal::Insufficient { available: 40 })
    );
    // At its expiry instant the hold is gone and its points are back.
    let b = l.balance(10 * MINUTE);
    assert_eq!((b.available, b.held), (100, 0));
    assert_eq!(
        l.clone().use_hold(10 * MINUTE, "h1"),
        Err(Refusal::NoSuchHold)
    );
    assert!(l.clone().use_hold(10 * MINUTE - 1, "h1").is_ok());
}

#[test]
fn a_used_hold_is_spent_and_a_released_hold_gives_its_points_back() {
    let mut l = Ledger::default();
    credit(&mut l, 1, 0, 100, 0, None);
    run(&mut l, 2, |l| l.hold(0, "a".into(), 30, H)).unwrap();
    run(&mut l, 3, |l| l.hold(0, "b".into(), 50, H)).unwrap();
    let (used, points) = l.use_hold(1, "a").unwrap();
    assert_eq!(points, 30);
    l.apply(4, &used);
    let (released, points) = l.release_hold(2, "b").unwrap();
    assert_eq!(points, 50);
    l.apply(5, &released);
    let b = l.balance(3);
    assert_eq!((b.available, b.held), (70, 0));
    assert_eq!(
        l.clone().use_hold(3, "a"),
        Err(Refusal::NoSuchHold),
        "used once"
    );
    assert_eq!(l.clone().release_hold(3, "b"), Err(Refusal::NoSuchHold));
}

#[test]
fn a_clawback_beyond_the_points_leaves_a_debt_that_later_credits_pay() {
    let mut l = Ledger::default();
    credit(&mut l, 1, 0, 100, 0, None);
    run(&mut l, 2, |l| l.debit(0, 80)).unwrap();
    let e = l.clawback(1, Some(1), 100);
    assert_eq!(
        e,
        Entry::Clawback {
            takes: vec![Take { lot: 1, points: 20 }],
            debt: 80
        }
    );
    l.apply(3, &e);
    assert_eq!(
        l.balance(1).available,
        -80,
        "only a clawback goes below zero"
    );
    assert_eq!(
        l.clone().debit(1, 1),
        Err(Refusal::Insufficient { available: -80 })
    );
    let e = l.credit(2, 50, 2, None).unwrap();
    assert_eq!(
        e,
        Entry::Credit {
            points: 50,
            available_at: 2,
            expires_at: None,
            debt_paid: 50,
            restored: false
        }
    );
    l.apply(4, &e);
    credit(&mut l, 5, 3, 50, 3, None);
    assert_eq!(l.balance(3).available, 20);
    assert_eq!(l.debt, 0);
}

#[test]
fn a_clawback_takes_the_refunded_lot_first() {
    let mut l = Ledger::default();
    credit(&mut l, 1, 0, 10, 0, Some(DAY));
    credit(&mut l, 2, 0, 10, 5 * DAY, None);
    let e = l.clawback(0, Some(2), 15);
    assert_eq!(
        e,
        Entry::Clawback {
            takes: vec![Take { lot: 2, points: 10 }, Take { lot: 1, points: 5 }],
            debt: 0
        }
    );
}

#[test]
fn the_stored_form_round_trips_and_an_empty_ledger_is_tiny() {
    let mut l = Ledger::default();
    assert_eq!(serde_json::to_string(&l).unwrap(), "{}");
    credit(&mut l, 1, 0, 10, 0, Some(DAY));
    run(&mut l, 2, |l| l.hold(0, "h".into(), 4, H)).unwrap();
    let text = serde_json::to_string(&l).unwrap();
    assert_eq!(
        text,
        r#"{"lots":[[1,6,0,86400000]],"holds":[{"reference":"h","points":4,"expiresAt":3600000,"takes":[[1,4]]}],"earned":10}"#
    );
    assert_eq!(serde_json::from_str::<Ledger>(&text).unwrap(), l);
    let no_expiry: Lot = serde_json::from_str("[7,5,100]").unwrap();
    assert_eq!(no_expiry.expires_at, None);
    assert!(serde_json::from_str::<Lot>("[7,5]").is_err());
    let entry = Entry::Debit {
        takes: vec![Take { lot: 1, points: 2 }],
    };
    let text = serde_json::to_string(&entry).unwrap();
    assert_eq!(text, r#"{"op":"debit","takes":[[1,2]]}"#);
    assert_eq!(serde_json::from_str::<Entry>(&text).unwrap(), entry);
}

// ---- property test: the ledger against a naive model ----

/// A deliberately simple model: keeps every lot and hold forever, expires
/// nothing eagerly, and recomputes everything from scratch.
/// (reference, points, expires_at, takes, open)
type ModelHold = (String, i64, Millis, Vec<(i64, i64)>, bool);

#[derive(Debug, Clone, Default)]
struct Model {
    /// (id, left, available_at, expires_at)
    lots: Vec<(i64, i64, Millis, Option<Millis>)>,
    /// (reference, points, expires_at, takes, open)
    holds: Vec<ModelHold>,
    debt: i64,
    earned: i64,
    clawed: bool,
    expired_hold_points: i64,
}

impl Model {
    fn expire_holds(&mut self, now: Millis) {
        let mut restore = vec![];
        for h in self.holds.iter_mut().filter(|h| h.4 && h.2 <= now) {
            h.4 = false;
            self.expired_hold_points += h.1;
            restore.extend(h.3.iter().copied());
        }
        self.give_back(&restore);
    }

    fn give_back(&mut self, takes: &[(i64, i64)]) {
        for (lot, n) in takes {
            self.lots.iter_mut().find(|l| l.0 == *lot).unwrap().1 += n;
        }
    }

    fn live(l: &(i64, i64, Millis, Option<Millis>), now: Millis) -> bool {
        l.3.is_none_or(|e| e > now)
    }

    fn available(&self, now: Millis) -> i64 {
        let lots: i64 = self
            .lots
            .iter()
            .filter(|l| l.2 <= now && Self::live(l, now))
            .map(|l| l.1)
            .sum();
        lots - self.debt
    }

    fn take(
        &mut self,
        now: Millis,
        mut n: i64,
        pending_too: bool,
        first: Option<i64>,
    ) -> Vec<(i64, i64)> {
        let mut order: Vec<usize> = (0..self.lots.len())
            .filter(|&i| {
                let l = &self.lots[i];
                Self::live(l, now) && l.1 > 0 && (pending_too || l.2 <= now)
            })
            .collect();
        order.sort_by_key(|&i| {
            let l = &self.lots[i];
            (Some(l.0) != first, l.3.unwrap_or(Millis::MAX), l.2, l.0)
        });
        let mut takes = vec![];
        for i in order {
            let k = self.lots[i].1.min(n);
            if k == 0 {
                break;
            }
            self.lots[i].1 -= k;
            n -= k;
            takes.push((self.lots[i].0, k));
        }
        if pending_too {
            self.debt += n;
        }
        takes
    }

    fn balance(&self, now: Millis) -> Balance {
        let mut m = self.clone();
        m.expire_holds(now);
        let mut b = Balance {
            available: m.available(now),
            earned: m.earned,
            held: m.holds.iter().filter(|h| h.4).map(|h| h.1).sum(),
            ..Balance::default()
        };
        b.pending = m
            .lots
            .iter()
            .filter(|l| l.2 > now && Self::live(l, now))
            .map(|l| l.1)
            .sum();
        let soonest = m
            .lots
            .iter()
            .filter(|l| l.2 <= now && l.1 > 0)
            .filter_map(|l| l.3.filter(|e| *e > now))
            .min();
        b.next_expiring = soonest.map(|at| {
            let n = m
                .lots
                .iter()
                .filter(|l| l.2 <= now && l.3 == Some(at))
                .map(|l| l.1)
                .sum();
            (at, n)
        });
        b
    }
}

#[derive(Debug, Clone)]
enum Op {
    Credit {
        points: i64,
        pending: Millis,
        expiry: Option<Millis>,
    },
    Spend {
        points: i64,
    },
    Hold {
        points: i64,
        minutes: i64,
    },
    Use {
        which: usize,
    },
    Release {
        which: usize,
    },
    Refund {
        which: usize,
        points: i64,
    },
    Wait {
        minutes: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1..500i64, prop_oneof![Just(0), 1..3 * DAY], proptest::option::of(1..4 * DAY))
            .prop_map(|(points, pending, expiry)| Op::Credit { points, pending, expiry }),
        3 => (1..400i64).prop_map(|points| Op::Spend { points }),
        2 => (1..300i64, 1..3000i64).prop_map(|(points, minutes)| Op::Hold { points, minutes }),
        1 => (0..8usize).prop_map(|which| Op::Use { which }),
        1 => (0..8usize).prop_map(|which| Op::Release { which }),
        1 => (0..8usize, 1..300i64).prop_map(|(which, points)| Op::Refund { which, points }),
        2 => (0..3 * 24 * 60i64).prop_map(|minutes| Op::Wait { minutes }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn the_ledger_agrees_with_the_naive_model(ops in proptest::collection::vec(op(), 1..60)) {
        let mut ledger = Ledger::default();
        let mut model = Model::default();
        let mut log: Vec<(i64, Millis, Entry)> = vec![];
        let mut now: Millis = 0;
        let mut credits = vec![];
        let mut holds = vec![];
        for (id, op) in (1..).zip(ops) {
            model.expire_holds(now);
            let decided: Option<Result<Entry, Refusal>> = match op {
                Op::Wait { minutes } => { now += minutes * MINUTE; None }
                Op::Credit { points, pending, expiry } => {
                    let available_at = now + pending;
                    let expires_at = expiry.map(|e| available_at + e);
                    let paid = points.min(model.debt);
                    model.debt -= paid;
                    model.earned += points;
                    model.lots.push((id, points - paid, available_at, expires_at));
                    credits.push(id);
                    Some(ledger.credit(now, points, available_at, expires_at))
                }
                Op::Spend { points } => {
                    let ok = model.available(now) >= points;
                    if ok { model.take(now, points, false, None); }
                    let d = ledger.debit(now, points);
                    prop_assert_eq!(d.is_ok(), ok);
                    Some(d)
                }
                Op::Hold { points, minutes } => {
                    let reference = format!("h{id}");
                    let ok = model.available(now) >= points;
                    if ok {
                        let takes = model.take(now, points, false, None);
                        model.holds.push((reference.clone(), points, now + minutes * MINUTE, takes, true));
                        holds.push(reference.clone());
                    }
                    let d = ledger.hold(now, reference, points, now + minutes * MINUTE);
                    prop_assert_eq!(d.is_ok(), ok);
                    Some(d)
                }
                Op::Use { which } | Op::Release { which } if holds.is_empty() => { let _ = which; None }
                Op::Use { which } => {
                    let r = holds[which % holds.len()].clone();
                    let h = model.holds.iter_mut().find(|h| h.0 == r).unwrap();
                    let ok = h.4;
                    h.4 = false;
                    let d = ledger.use_hold(now, &r).map(|(e, p)| { prop_assert_eq!(p, h.1); Ok(e) });
                    let d = match d { Ok(r) => Some(Ok(r?)), Err(e) => Some(Err(e)) };
                    prop_assert_eq!(d.as_ref().unwrap().is_ok(), ok);
                    d
                }
                Op::Release { which } => {
                    let r = holds[which % holds.len()].clone();
                    let h = model.holds.iter_mut().find(|h| h.0 == r).unwrap();
                    let ok = h.4;
                    h.4 = false;
                    let takes = h.3.clone();
                    if ok { model.give_back(&takes); }
                    let d = ledger.release_hold(now, &r).map(|(e, _)| e);
                    prop_assert_eq!(d.is_ok(), ok);
                    Some(d)
                }
                Op::Refund { which, points } => {
                    if credits.is_empty() { None } else {
                        let lot = credits[which % credits.len()];
                        model.take(now, points, true, Some(lot));
                        model.earned -= points;
                        model.clawed = true;
                        Some(Ok(ledger.clawback(now, Some(lot), points)))
                    }
                }
            };
            if let Some(Ok(entry)) = decided {
                ledger.apply(id, &entry);
                log.push((id, now, entry));
            }
            // The stored form is what the next chunk loads.
            ledger = serde_json::from_str(&serde_json::to_string(&ledger).unwrap()).unwrap();

            // Probe now, later, and both sides of every boundary the ledger knows.
            let mut probes = vec![now, now + MINUTE, now + DAY, now + 5 * DAY];
            for h in &ledger.holds {
                probes.extend([h.expires_at - 1, h.expires_at]);
            }
            for l in &ledger.lots {
                probes.extend([l.available_at - 1, l.available_at]);
                probes.extend(l.expires_at.into_iter().flat_map(|e| [e - 1, e]));
            }
            for at in probes.into_iter().filter(|t| *t >= now) {
                prop_assert_eq!(ledger.balance(at), model.balance(at), "at {}", at);
            }
            prop_assert!(ledger.lots.iter().all(|l| l.remaining >= 0), "a lot went negative");
            let b = ledger.balance(now);
            prop_assert!(b.available >= 0 || model.clawed, "below zero without a clawback");

            // Replaying the movements rebuilds the same ledger.
            let mut replayed = Ledger::replay(log.iter().map(|(id, at, e)| (*id, *at, e)));
            let mut settled = ledger.clone();
            replayed.settle(now);
            settled.settle(now);
            prop_assert_eq!(&replayed, &settled);

            // Balance = Σ movements: what the log moved, plus expired holds given
            // back, is what the lots hold (expired ones included) minus the debt.
            let mut hold_points = std::collections::HashMap::new();
            let mut moved = 0;
            for (_, _, e) in &log {
                if let Entry::Hold { reference, points, .. } = e {
                    hold_points.insert(reference.clone(), *points);
                }
                moved += e.points_delta(|r| hold_points[r]);
            }
            let mut m = model.clone();
            m.expire_holds(now);
            let held_by_lots: i64 = m.lots.iter().map(|l| l.1).sum();
            prop_assert_eq!(moved + m.expired_hold_points, held_by_lots - m.debt);
        }
    }
}
