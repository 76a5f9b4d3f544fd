//! Reply SLAs: business calendars, policies, breach checks and triage.

mod calendar;
mod duration;
mod zone;

pub use calendar::{Calendar, CalendarBuilder, CalendarSpec, DateHours, Holiday, Shift};
pub use duration::{Target, TimeSpan};
mod policy;
pub use policy::{
    CatchAll, CustomerFacts, CustomerKind, Filter, MessageKind, Metric, Policy, PolicySet,
    PolicyWarning, Priority, Status, Targets,
};
mod evaluate;
pub use evaluate::{
    evaluate, CycleReport, CycleState, EvaluateOptions, Evaluation, Event, EventKind, Risk,
};
mod triage;
pub use triage::{triage, TriageItem};
