//! A shop in Shanghai answering customers in Europe and the US across a weekend and the
//! National Day holiday (closed 2024-10-01..07, make-up working days on Sunday 2024-09-29 and
//! Saturday 2024-10-12), with an evening shift covering US mornings.
//!
//! Run with `cargo run --example sla`.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use loyalty::sla::{
    evaluate, triage, Calendar, CatchAll, CustomerFacts, CustomerKind, EvaluateOptions, Event,
    Filter, MessageKind, Metric, Policy, PolicySet, Priority, Shift, Target, Targets, TimeSpan,
    TriageItem, TriageOptions,
};
use rust_decimal::Decimal;

struct Conversation {
    id: &'static str,
    zone: Tz,
    facts: CustomerFacts,
    value: Decimal,
    events: Vec<Event>,
}

fn local(tz: Tz, y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    tz.with_ymd_and_hms(y, mo, d, h, mi, 0).earliest().expect("valid wall time").with_timezone(&Utc)
}

fn show(t: DateTime<Utc>, tz: Tz) -> String {
    let sh = t.with_timezone(&Tz::Asia__Shanghai).format("%a %m-%d %H:%M");
    let cu = t.with_timezone(&tz).format("%a %m-%d %H:%M %Z");
    format!("{sh} Shanghai ({cu})")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let day = [Shift::hm(9, 0, 12, 0)?, Shift::hm(13, 0, 18, 0)?];
    let with_evening = [Shift::hm(9, 0, 12, 0)?, Shift::hm(13, 0, 18, 0)?, Shift::hm(21, 0, 1, 0)?];
    let mut b = Calendar::builder("Asia/Shanghai");
    b.weekdays(&with_evening);
    for d in 1..=7 {
        b.holiday(NaiveDate::from_ymd_opt(2024, 10, d).ok_or("date")?);
    }
    b.override_hours(NaiveDate::from_ymd_opt(2024, 9, 29).ok_or("date")?, &day);
    b.override_hours(NaiveDate::from_ymd_opt(2024, 10, 12).ok_or("date")?, &day);
    let cal = b.build()?;
    println!("Shanghai calendar: {} open per ordinary week\n", cal.weekly_open_time());

    let returning = Policy::new(
        "returning: same day, ack counts, 3-day cap",
        Filter::any().customer(CustomerKind::Returning),
        Targets::none()
            .first_reply(Target::business_days(0))
            .next_reply(Target::business_days(0))
            .resolution(Target::business_days(2)),
    )?
    .reply_kinds(&[MessageKind::AgentReply, MessageKind::AutoAcknowledgement])?
    .cap(TimeSpan::days(3)?)?;
    let urgent = Policy::new(
        "urgent: 1 working hour",
        Filter::any().priority(Priority::Urgent),
        Targets::none().first_reply(Target::working(TimeSpan::hours(1)?)?),
    )?;
    let fallback = Targets::none()
        .first_reply(Target::working(TimeSpan::hours(24)?)?)
        .resolution(Target::business_days(5));
    let policies = PolicySet::new(vec![returning, urgent], CatchAll::Synthesize(fallback))?;
    for w in policies.warnings() {
        println!("warning: {w:?}");
    }

    let berlin = Tz::Europe__Berlin;
    let paris = Tz::Europe__Paris;
    let new_york = Tz::America__New_York;
    let chicago = Tz::America__Chicago;
    let conversations = vec![
        Conversation {
            id: "anna-berlin",
            zone: berlin,
            facts: CustomerFacts { customer: CustomerKind::Returning, ..Default::default() },
            value: Decimal::from(1_850),
            // Friday evening in Berlin is after midnight in Shanghai: the weekend starts.
            events: vec![Event::customer_message(local(berlin, 2024, 9, 27, 18, 30))],
        },
        Conversation {
            id: "bob-new-york",
            zone: new_york,
            facts: CustomerFacts::default(),
            value: Decimal::from(120),
            events: vec![
                Event::customer_message(local(new_york, 2024, 9, 28, 9, 0)),
                Event::agent_reply(local(new_york, 2024, 9, 30, 9, 30)),
                Event::customer_message(local(new_york, 2024, 9, 30, 12, 0)),
            ],
        },
        Conversation {
            id: "carla-paris",
            zone: paris,
            facts: CustomerFacts { priority: Priority::Urgent, ..Default::default() },
            value: Decimal::from(300),
            events: vec![Event::customer_message(local(paris, 2024, 9, 30, 11, 30))],
        },
        Conversation {
            id: "dave-chicago",
            zone: chicago,
            facts: CustomerFacts { customer: CustomerKind::Returning, ..Default::default() },
            value: Decimal::from(2_400),
            // Written on the eve of the holiday; an auto-acknowledgement goes out at once.
            events: vec![
                Event::customer_message(local(chicago, 2024, 9, 30, 20, 0)),
                Event::acknowledgement(local(chicago, 2024, 9, 30, 20, 1)),
            ],
        },
    ];

    let now = local(Tz::Asia__Shanghai, 2024, 10, 3, 12, 0);
    println!("now: {}\n", show(now, Tz::UTC));
    let options = EvaluateOptions::default().warn_within(TimeSpan::hours(2)?)?;
    let mut queue = Vec::new();
    for conv in &conversations {
        let policy = policies.select(&conv.facts);
        let eval = evaluate(&conv.events, policy, std::slice::from_ref(&cal), now, &options)?;
        println!("{} -> policy \"{}\"", conv.id, policy.name());
        for c in &eval.cycles {
            let Some(deadline) = c.deadline else { continue };
            let label = match c.metric {
                Metric::FirstReply => "first reply",
                Metric::NextReply => "next reply",
                Metric::PeriodicUpdate => "update",
                Metric::Resolution => "resolution",
                _ => "other",
            };
            let breach = match c.breached_at {
                Some(at) => format!("BREACHED at {}", show(at, conv.zone)),
                None => "on time".to_owned(),
            };
            let remaining = c.remaining.map_or_else(String::new, |r| format!(", remaining {r}"));
            println!(
                "  {label} #{}: due {} | {:?}, {breach}{remaining} [{:?}]",
                c.cycle,
                show(deadline, conv.zone),
                c.state,
                c.risk
            );
        }
        queue.push(TriageItem::from_evaluation(conv.id, &eval, conv.facts.customer, conv.value));
    }

    // Breached first, then returning customers due within 24 hours, then the rest of that
    // band, then later deadlines.
    println!("\nanswer in this order:");
    for (rank, i) in triage(&queue, now, &TriageOptions::default()).into_iter().enumerate() {
        let item = &queue[i];
        let due = item.deadline.map_or_else(|| "no open deadline".to_owned(), |d| show(d, Tz::UTC));
        println!(
            "  {}. {} (value {}, {:?}) due {due}",
            rank + 1,
            item.id,
            item.value,
            item.customer
        );
    }
    Ok(())
}
