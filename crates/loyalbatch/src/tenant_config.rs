//! `loyalbatch tenant config NAME [--setting value …] [--json]`: read and change a tenant's program settings (SPEC §6).

use anyhow::{Result, anyhow};
use domain::settings::ProgramSettings;
use rust_decimal::Decimal;

#[derive(clap::Args, Debug)]
pub struct ConfigArgs {
    /// The tenant's name.
    pub name: String,
    /// Points earned per `--amount-reward-threshold` of money.
    #[arg(long)]
    pub reward_wallet_factor: Option<Decimal>,
    /// Money spent per `--reward-wallet-factor` points.
    #[arg(long)]
    pub amount_reward_threshold: Option<Decimal>,
    /// Money value of one point.
    #[arg(long)]
    pub redemption_factor: Option<Decimal>,
    /// ISO currency code, e.g. USD.
    #[arg(long)]
    pub currency: Option<String>,
    #[arg(long)]
    pub points_name: Option<String>,
    /// Days earned points stay pending.
    #[arg(long)]
    pub return_window_days: Option<u32>,
    /// Days points stay spendable once available, or `none`.
    #[arg(long)]
    pub points_expiry_days: Option<ExpiryDays>,
    /// Minutes a hold reserves points (1–21600).
    #[arg(long)]
    pub hold_expiry_minutes: Option<u32>,
    /// Require the secret key on every call.
    #[arg(long)]
    pub high_security: Option<bool>,
    /// EVENT=POINTS credited each time a customer sends EVENT (repeatable; POINTS 0 removes it).
    #[arg(long = "event-reward", value_parser = parse_reward)]
    pub event_rewards: Vec<(String, i64)>,
    /// Print the settings as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `--points-expiry-days`: a number of days, or `none` (points never expire).
#[derive(Debug, Clone, Copy)]
pub struct ExpiryDays(Option<u32>);

impl std::str::FromStr for ExpiryDays {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("none") {
            return Ok(ExpiryDays(None));
        }
        s.parse()
            .map(|d| ExpiryDays(Some(d)))
            .map_err(|_| format!("'{s}' is neither a number of days nor 'none'"))
    }
}

fn parse_reward(s: &str) -> Result<(String, i64), String> {
    let (name, points) = s
        .rsplit_once('=')
        .ok_or_else(|| format!("'{s}' is not EVENT=POINTS"))?;
    let points = points
        .parse()
        .map_err(|_| format!("'{points}' is not a whole number of points"))?;
    Ok((name.to_owned(), points))
}

impl ConfigArgs {
    fn changes(&self) -> bool {
        self.reward_wallet_factor.is_some()
            || self.amount_reward_threshold.is_some()
            || self.redemption_factor.is_some()
            || self.currency.is_some()
            || self.points_name.is_some()
            || self.return_window_days.is_some()
            || self.points_expiry_days.is_some()
            || self.hold_expiry_minutes.is_some()
            || self.high_security.is_some()
            || !self.event_rewards.is_empty()
    }

    /// `current` with the given flags applied.
    pub fn apply(&self, mut s: ProgramSettings) -> ProgramSettings {
        if let Some(v) = self.reward_wallet_factor {
            s.reward_wallet_factor = v;
        }
        if let Some(v) = self.amount_reward_threshold {
            s.amount_reward_threshold = v;
        }
        if let Some(v) = self.redemption_factor {
            s.redemption_factor = v;
        }
        if let Some(v) = &self.currency {
            s.currency = v.clone();
        }
        if let Some(v) = &self.points_name {
            s.points_name = v.clone();
        }
        if let Some(v) = self.return_window_days {
            s.return_window_days = v;
        }
        if let Some(ExpiryDays(v)) = self.points_expiry_days {
            s.points_expiry_days = v;
        }
        if let Some(v) = self.hold_expiry_minutes {
            s.hold_expiry_minutes = v;
        }
        if let Some(v) = self.high_security {
            s.high_security = v;
        }
        for (name, points) in &self.event_rewards {
            if *points == 0 {
                s.event_rewards.remove(name);
            } else {
                s.event_rewards.insert(name.clone(), *points);
            }
        }
        s
    }
}

/// Applies the flags (validated as a whole by the application layer) and
/// prints the resulting settings.
pub async fn run(app: &app::App, args: ConfigArgs) -> Result<()> {
    let fail = |e: app::Error| anyhow!("{e}");
    let tenants = app.tenants();
    let current = tenants.settings(&args.name).await.map_err(fail)?;
    let settings = if args.changes() {
        let next = args.apply(current);
        tenants
            .set_settings(&args.name, next.clone())
            .await
            .map_err(fail)?;
        next
    } else {
        current
    };
    if args.json {
        println!("{}", serde_json::to_string(&settings)?);
    } else {
        print_human(&args.name, &settings);
    }
    Ok(())
}

fn print_human(name: &str, s: &ProgramSettings) {
    println!("tenant:                {name}");
    println!("rewardWalletFactor:    {}", s.reward_wallet_factor);
    println!("amountRewardThreshold: {}", s.amount_reward_threshold);
    println!("redemptionFactor:      {}", s.redemption_factor);
    println!("currency:              {}", s.currency);
    println!("pointsName:            {}", s.points_name);
    println!("returnWindowDays:      {}", s.return_window_days);
    match s.points_expiry_days {
        Some(d) => println!("pointsExpiryDays:      {d}"),
        None => println!("pointsExpiryDays:      none"),
    }
    println!("holdExpiryMinutes:     {}", s.hold_expiry_minutes);
    println!("highSecurity:          {}", s.high_security);
    if s.event_rewards.is_empty() {
        println!("eventRewards:          none");
    }
    for (event, points) in &s.event_rewards {
        println!("eventRewards:          {event} = {points}");
    }
}
