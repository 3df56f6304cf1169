//! Values parsed at the edge: VIN, odometer, phone, names, ids, work-order lines, visits.

mod customer;
mod dates;
mod ids;
mod json;
mod odometer;
mod phone;
mod plate;
mod recommendation;
mod text;
mod vehicle;
mod vin;
mod visit;
#[cfg(test)]
mod visit_tests;
mod work_order;

pub use customer::{Consents, ContactClass, Customer, FirstName};
pub use dates::{parse_date, parse_timestamp, DateError};
pub use ids::{AdvisorId, CustomerId, IdError, TelegramChatId, TelegramChatIdError, WorkOrderId};
pub use odometer::{Odometer, OdometerError};
pub use phone::{PhoneE164, PhoneError};
pub use plate::{Plate, PlateError};
pub use recommendation::{Recommendation, RecommendationDto, RecommendationError, Urgency};
pub use text::TextError;
pub use vehicle::{Make, Model, Vehicle, VehicleDto, VehicleError};
pub use vin::{Vin, VinError};
pub use visit::{
    CustomerDto, FieldError, Visit, VisitDto, VisitError, VisitErrors, VisitKind, VisitKindError,
    VisitParts,
};
pub(crate) use work_order::LINE_NAME_MAX;
pub use work_order::{
    LineDto, LineError, LineErrors, LineKind, Quantity, QuantityError, WorkOrderLine,
};
