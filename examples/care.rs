//! A small cross-border shop plans today's customer care.
//!
//! `cargo run --example care`
//!
//! The shop sells cast-iron cookware and coffee to customers in Japan, Germany, Brazil,
//! Kiribati and the United States. Every morning (here: a fixed instant, 2026-12-25 08:30
//! UTC) it asks `loyalty::care::due` whom to contact and why, and prints the plan. At that
//! instant it is already 22:30 on Christmas Day in Kiritimati and still 05:30 in São Paulo,
//! so those greetings wait for the end of the customers' quiet hours.

use chrono::{NaiveDate, TimeZone, Utc};
use loyalty::care::{
    due, Birthday, CareConfig, CareInput, Channel, Contact, ContactCap, Customer, CustomerId,
    FestivalCalendar, HoldReason, Order, Promotion, Timing, Trigger,
};
use loyalty::{Currency, Money};
use rust_decimal::dec;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).ok_or("bad date");
    let usd = |v| Money::new(v, Currency::USD);

    let customers = vec![
        Customer::new(CustomerId(101), "Asia/Tokyo")?
            .market("JP")
            .language("ja")
            .tag("coffee")
            .consent(Channel::Email)
            .consent(Channel::Messenger)
            .segment("Champions")
            .value(usd(dec!(1450))),
        Customer::new(CustomerId(102), "Europe/Berlin")?
            .market("DE")
            .language("de")
            .birthday("1988-12-25".parse::<Birthday>()?)
            .tag("cast-iron")
            .consent(Channel::Email)
            .segment("Loyal"),
        Customer::new(CustomerId(103), "America/Sao_Paulo")?
            .market("BR")
            .language("pt-BR")
            .consent(Channel::Sms)
            .segment("At Risk")
            .value(usd(dec!(980))),
        Customer::new(CustomerId(104), "Pacific/Kiritimati")?
            .market("KI")
            .language("en")
            .birthday("02-29".parse::<Birthday>()?)
            .consent(Channel::Email),
        Customer::new(CustomerId(105), "America/New_York")?
            .market("US")
            .language("en")
            .tag("coffee")
            .segment("Cannot Lose Them")
            .value(usd(dec!(2300))),
    ];

    let orders = vec![
        // A pan delivered in Tokyo a week ago: check-in due today, care tips too.
        Order::new("JP-881", CustomerId(101), d(2026, 12, 14)?, Some(d(2026, 12, 18)?))?
            .category("cast-iron"),
        // Coffee roughly every 30 days: the next bag is due.
        Order::new("JP-700", CustomerId(101), d(2026, 9, 28)?, Some(d(2026, 10, 1)?))?
            .category("coffee-beans"),
        Order::new("JP-760", CustomerId(101), d(2026, 10, 28)?, Some(d(2026, 10, 31)?))?
            .category("coffee-beans"),
        Order::new("JP-820", CustomerId(101), d(2026, 11, 27)?, Some(d(2026, 11, 30)?))?
            .category("coffee-beans"),
        Order::new("BR-310", CustomerId(103), d(2026, 5, 2)?, Some(d(2026, 5, 12)?))?
            .category("cast-iron"),
        Order::new("US-090", CustomerId(105), d(2026, 4, 9)?, Some(d(2026, 4, 13)?))?
            .category("coffee-beans"),
    ];

    let mut calendar = FestivalCalendar::new();
    calendar.add("DE", "Weihnachten", "12-25")?;
    calendar.add("BR", "Natal", "12-25")?;
    calendar.add("US", "Christmas", "12-25")?;
    calendar.add("JP", "Shōgatsu", "01-01")?;
    calendar.add("KI", "Christmas", "12-25")?;

    let promotions = vec![
        Promotion::new("winter-roast", d(2026, 12, 20)?, d(2027, 1, 10)?)?.tag("coffee"),
        Promotion::new("pan-bundle", d(2026, 12, 26)?, d(2027, 1, 5)?)?.tag("cast-iron"),
    ];

    // The Brazilian customer got a win-back offer on 1 December: still cooling down.
    let contacts = vec![Contact {
        customer: CustomerId(103),
        kind: loyalty::care::ActionKind::WinBack,
        at: Utc.with_ymd_and_hms(2026, 12, 1, 15, 0, 0).single().ok_or("bad time")?,
        channel: None,
    }];

    let mut config = CareConfig::default();
    config.care_tip.upkeep_categories.insert("cast-iron".into());
    config.care_tip.delay_days = 7;
    config.replenish.categories.insert("coffee-beans".into(), Some(30));
    config.win_back.min_value = Some(usd(dec!(500)));
    config.pressure.cap = ContactCap::new(2, 7)?;

    let now = Utc.with_ymd_and_hms(2026, 12, 25, 8, 30, 0).single().ok_or("bad time")?;
    let input = CareInput {
        customers: &customers,
        orders: &orders,
        contacts: &contacts,
        promotions: &promotions,
        calendar: &calendar,
    };
    let plan = due(now, &config, &input)?;

    println!("Care plan at {now} ({} actions, {} held)\n", plan.actions.len(), plan.held.len());
    for a in &plan.actions {
        let when = match a.timing {
            Timing::Now => "now".to_string(),
            Timing::Deferred => format!("after quiet hours, at {}", a.send_at),
        };
        println!(
            "[{:>2}] customer {} ({}, local {}): {} via {} {}",
            a.priority, a.customer, a.language, a.local_date, a.kind, a.channel, when
        );
        println!("      reason {}: {}", a.reason, explain(&a.trigger));
    }
    println!();
    for h in &plan.held {
        let why = match h.hold {
            HoldReason::NoConsent => "no consent for any of the rule's channels".to_string(),
            HoldReason::CoolDown { last, until } => {
                format!("same kind sent {last}, cool-down until {until}")
            }
            HoldReason::CapReached { max_contacts, recent_contacts } => {
                format!("cap of {max_contacts} per period reached ({recent_contacts} recent)")
            }
            HoldReason::QuietHours { until } => format!("quiet hours until {until}"),
        };
        println!("held: customer {} {} ({}): {why}", h.customer, h.kind, h.reason);
    }
    Ok(())
}

fn explain(t: &Trigger) -> String {
    match t {
        Trigger::Birthday { birthday, local_date } => {
            format!("birthday {birthday} observed on {local_date}")
        }
        Trigger::Festival { market, festival, .. } => format!("{festival} in market {market}"),
        Trigger::CheckIn { order, delivered, days_since_delivery, .. } => {
            format!("order {order} delivered {delivered}, {days_since_delivery} days ago")
        }
        Trigger::CareTip { order, category, delivered, .. } => {
            format!("order {order} ({category}) delivered {delivered}")
        }
        Trigger::Replenish {
            category,
            last_purchase,
            interval_days,
            source,
            days_since_purchase,
            ..
        } => format!(
            "{category}: last bought {last_purchase} ({days_since_purchase} days ago), \
             {source:?} interval {interval_days} days"
        ),
        Trigger::PreferenceMatch { promotion, matched_tags, valid_until } => {
            format!("promotion {promotion} matches {matched_tags:?}, until {valid_until}")
        }
        Trigger::WinBack { segment, value, days_since_last_order, .. } => format!(
            "segment {segment:?}, value {}, last order {} days ago",
            value.map_or("unknown".into(), |v| v.to_string()),
            days_since_last_order.map_or("?".into(), |d| d.to_string())
        ),
        Trigger::ReviewRequest { checked_in_at, .. } => format!("check-in sent {checked_in_at}"),
        _ => format!("{t:?}"),
    }
}
