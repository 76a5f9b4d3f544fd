//! Reply SLAs: business calendars, policies, breach checks and triage.

mod calendar;
mod duration;
mod zone;

pub use calendar::{Calendar, CalendarBuilder, CalendarSpec, DateHours, Holiday, Shift};
pub use duration::{Target, TimeSpan};
