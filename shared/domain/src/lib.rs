//! The dealership's business in pure Rust: parsed values, the mileage forecaster, the retention
//! policy, triggers and offer pricing. No I/O, no async, no clock reads: time is an argument.

pub mod contact;
pub mod forecast;
pub mod money;
pub mod policy;
pub mod pricing;
pub mod render;
pub mod segments;
pub mod status;
pub mod trade_in;
pub mod triggers;
pub mod uplift;
pub mod values;

pub use forecast::{
    forecast_due, DueLimit, ForecastError, ForecastInput, ForecastParams, Forecaster, RateBasis,
    Reading, ReadingFlag, ReadingSource, Schedule, ServiceDue, ServicePoint,
};
pub use money::{Money, MoneyError};
pub use values::{
    AdvisorId, Consents, ContactClass, Customer, CustomerId, FieldError, FirstName, Odometer,
    PhoneE164, Plate, TelegramChatId, Vehicle, Vin, Visit, VisitDto, VisitErrors, VisitKind,
    WorkOrderId,
};
pub use values::{LineKind, Quantity, Recommendation, Urgency, WorkOrderLine};
