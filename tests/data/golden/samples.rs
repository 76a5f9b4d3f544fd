// Sample values of every type a host stores, for the golden files in this directory.
//
// Included both by `generate.rs` (which writes the files) and by the integration tests
// (which read them back). It uses only API that existed when format version 1 was
// current, so the same file builds against that commit (see README.md).

/// (file stem, pretty JSON of a sample value).
#[allow(dead_code)]
fn golden_samples() -> Vec<(&'static str, String)> {
    use chrono::{NaiveDate, Weekday};
    use loyalty::{Currency, Money, Multiplier, Share};
    use rust_decimal::Decimal;

    fn json<T: serde::Serialize>(v: &T) -> String {
        serde_json::to_string_pretty(v).unwrap()
    }
    let day = |m: u32, d: u32| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
    let usd = |cents: i64| Money::new(Decimal::new(cents, 2), Currency::USD);
    let mut out = Vec::new();

    // ----- points: a program and two accounts touched by every kind of operation.
    {
        use loyalty::points::*;
        let program = Program::new(
            EarnRules::new(Currency::USD, Decimal::ONE).unwrap(),
            RedemptionRules::new(Points::new(100), usd(1000)).unwrap(),
        )
        .unwrap()
        .expiry(Expiry::rolling(Span::Months(12)).unwrap().rounded_up(PeriodEnd::Month))
        .clawback(ClawbackPolicy::CarryDebt);
        let mut a = Account::new(MemberId::new(1), day(1, 1));
        let mut b = Account::new(MemberId::new(2), day(1, 1));
        let big = usd(1_000_000);
        let k = OpKey::new;
        a.earn(&program, k(1), &EarnRequest::new(Points::new(500)).for_order(usd(50_000)), day(1, 2))
            .unwrap();
        a.earn(
            &program,
            k(2),
            &EarnRequest::new(Points::new(80))
                .for_order(usd(8000))
                .pending(Pending::Until(day(2, 1))),
            day(1, 3),
        )
        .unwrap();
        a.earn(
            &program,
            k(3),
            &EarnRequest::new(Points::new(40)).pending(Pending::UntilActivated),
            day(1, 3),
        )
        .unwrap();
        a.activate(&program, k(4), k(3), day(1, 4)).unwrap();
        let r = a.reserve(&program, k(5), &RedeemRequest::new(Points::new(100), big), day(1, 5));
        let id = r.unwrap().reservation.unwrap();
        a.commit(&program, k(6), id, day(1, 5)).unwrap();
        let r = a.reserve(&program, k(7), &RedeemRequest::new(Points::new(50), big), day(1, 6));
        let id = r.unwrap().reservation.unwrap();
        a.release(&program, k(8), id, day(1, 6)).unwrap();
        a.redeem(&program, k(9), &RedeemRequest::new(Points::new(200), big), day(1, 7)).unwrap();
        a.refund(&program, k(10), &RefundRequest::new(k(1), usd(10_000)), day(1, 8)).unwrap();
        a.adjust(&program, k(11), &Adjustment::credit(Points::new(15), "goodwill"), day(1, 9))
            .unwrap();
        a.adjust(&program, k(12), &Adjustment::debit(Points::new(5), "correction"), day(1, 9))
            .unwrap();
        transfer(&program, &mut a, &mut b, k(13), Points::new(30), day(1, 10)).unwrap();
        // A UUID-sized key that still fits in u64 (larger ones could not be read back from a
        // JSON number exactly: the reason keys became strings).
        a.earn(&program, k(0xfeed_beef_cafe_f00d), &EarnRequest::new(Points::new(7)), day(2, 2))
            .unwrap();
        out.push(("points_program", json(&program)));
        out.push(("points_account", json(&a)));
        out.push(("points_account_receiver", json(&b)));
    }

    // ----- tiers: a program (ladder, window, policy).
    {
        use loyalty::tiers::{Benefit, Benefits, Ladder, Metric, Policy, Program, Tier, Window};
        let pct = |p: i64| Share::from_percent(Decimal::from(p)).unwrap();
        let ladder = Ladder::new(
            Metric::Spend,
            vec![
                Tier::new("bronze", Decimal::ZERO).unwrap(),
                Tier::new("silver", Decimal::from(500)).unwrap().with_benefits(
                    Benefits::new(vec![
                        Benefit::Discount(pct(2)),
                        Benefit::PointsMultiplier(Multiplier::new(Decimal::new(125, 2)).unwrap()),
                    ])
                    .unwrap(),
                ),
                Tier::new("gold", Decimal::from(2000)).unwrap(),
            ],
        )
        .unwrap();
        let program = Program::new(ladder, Window::CalendarYear, Policy::default()).unwrap();
        out.push(("tiers_program", json(&program)));
    }

    // ----- tiers: a ladder with either-or and all-of criteria (format version 2).
    {
        use loyalty::tiers::{Criterion, Demotion, Ladder, Metric, Policy, Program, Tier, Window};
        let d = Decimal::from;
        let ladder = Ladder::new(
            Metric::OrderCount,
            vec![
                Tier::new("bronze", Decimal::ZERO).unwrap(),
                Tier::by_criterion(
                    "silver",
                    Criterion::any_of([(Metric::OrderCount, d(3)), (Metric::Spend, d(1000))]).unwrap(),
                )
                .unwrap(),
                Tier::by_criterion(
                    "gold",
                    Criterion::any_of([(Metric::OrderCount, d(6)), (Metric::Spend, d(3000))]).unwrap(),
                )
                .unwrap(),
                Tier::by_criterion(
                    "platinum",
                    Criterion::all_of([(Metric::OrderCount, d(12)), (Metric::Spend, d(8000))]).unwrap(),
                )
                .unwrap(),
            ],
        )
        .unwrap();
        let policy = Policy::default().demotion(Demotion::Reevaluate);
        let program = Program::new(ladder, Window::rolling_months(12).unwrap(), policy).unwrap();
        out.push(("tiers_program_criteria", json(&program)));
    }

    // ----- referral: a book with a referral cleared by a first order.
    {
        use loyalty::referral::{MemberId, ReferralBook, ReferralRules, Reward};
        let dollars = |a: i64| Money::new(Decimal::from(a), Currency::USD);
        let rules = ReferralRules::new(
            Reward::money(dollars(20)).unwrap(),
            Reward::money(dollars(10)).unwrap(),
            dollars(50),
            30,
        )
        .unwrap();
        let mut book = ReferralBook::new(rules);
        let at = |m: u32, d: u32| day(m, d).and_hms_opt(0, 0, 0).unwrap();
        let id = |s: &str| MemberId::new(s).unwrap();
        book.refer(id("ann"), id("bob"), at(1, 1)).unwrap();
        book.refer(id("ann"), id("cat"), at(1, 1)).unwrap();
        book.first_order(&id("bob"), dollars(60), at(1, 2)).unwrap();
        out.push(("referral_book", json(&book)));
    }

    // ----- sla: a calendar and a policy set.
    {
        use loyalty::sla::{
            Calendar, CatchAll, Filter, Holiday, Policy, PolicySet, Shift, Target, Targets,
            TimeSpan,
        };
        let cal = Calendar::builder("Asia/Shanghai")
            .weekdays(&[Shift::hm(9, 0, 12, 0).unwrap(), Shift::hm(13, 0, 18, 0).unwrap()])
            .hours(Weekday::Sat, &[Shift::hm(22, 0, 2, 0).unwrap()])
            .add_holiday(Holiday::new(NaiveDate::from_ymd_opt(2024, 10, 1).unwrap()).named("National Day"))
            .build()
            .unwrap();
        out.push(("sla_calendar", json(&cal)));
        let hour = TimeSpan::hours(1).unwrap();
        let p = Policy::new(
            "vip",
            Filter::any().tier("gold"),
            Targets::none()
                .first_reply(Target::working(hour).unwrap())
                .resolution(Target::business_days(3)),
        )
        .unwrap();
        let set = PolicySet::new(vec![p], CatchAll::Synthesize(Targets::none())).unwrap();
        out.push(("sla_policies", json(&set)));
    }

    // ----- care: the care configuration.
    {
        let mut cfg = loyalty::care::CareConfig::default();
        cfg.check_in.window_days = 5;
        out.push(("care_config", json(&cfg)));
    }

    // ----- rfm: a summary.
    {
        use loyalty::rfm::{summarize, SummaryOptions, Transaction};
        let t = |c: u32, m: u32, d: u32, cents: i64| {
            Transaction::new(c, day(m, d).and_hms_opt(12, 0, 0).unwrap(), Decimal::new(cents, 2))
        };
        let log = vec![t(1, 1, 3, 2500), t(1, 2, 10, 4000), t(2, 1, 20, 990), t(3, 3, 1, 12_000)];
        let as_of = day(4, 1).and_hms_opt(0, 0, 0).unwrap();
        let summary = summarize(&log, as_of, SummaryOptions::default()).unwrap();
        out.push(("rfm_summary", json(&summary)));
    }

    // ----- clv: fitted parameters (lifetimes 0.11.3 on CDNOW, rounded).
    {
        use loyalty::clv::{BgNbd, GammaGamma, MbgNbd, ParetoNbd};
        use loyalty::rfm::Period;
        out.push(("clv_bgnbd", json(&BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258, Period::WEEK).unwrap())));
        out.push(("clv_mbgnbd", json(&MbgNbd::new(0.52, 6.18, 0.89, 1.61, Period::WEEK).unwrap())));
        out.push(("clv_pareto_nbd", json(&ParetoNbd::new(0.55, 10.58, 0.61, 11.67, Period::WEEK).unwrap())));
        out.push(("clv_gamma_gamma", json(&GammaGamma::new(6.25, 3.74, 15.45).unwrap())));
    }
    out
}
