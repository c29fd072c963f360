//! Background work inside `serve`: loops that call the service layer on a timer.

pub mod outbox;
pub mod sweeper;
