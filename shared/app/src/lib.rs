//! The use cases of the dealership, generic over the storage port. They return the messages to
//! pass on (`messages`) instead of sending them, so the same code runs in Lambda and in process.

pub mod booking;
pub mod booking_link;
pub mod booking_page;
pub mod campaigns;
pub mod compose;
pub mod contact_state;
pub mod conversions;
pub mod dashboard;
pub mod evaluate;
#[cfg(any(test, feature = "event-schemas"))]
pub mod event_schemas;
pub mod events;
pub mod fixtures;
pub mod forecasting;
pub mod import;
pub mod incentives;
pub mod kpi;
pub mod messages;
pub mod nightly;
pub mod outreach;
pub mod ports;
pub mod reports;
pub mod sms_text;
pub mod trade_in;
pub mod visits;

pub use booking::rights::{erase_customer, Erasure};
pub use booking::{
    finish_update, handle_update, is_stop, BookingSettings, MessengerUpdate, UpdateError,
    UpdateKind, UpdateReplies,
};
pub use compose::{
    compose_and_deliver, compose_and_send, ComposeError, ComposeOutcome, ComposeSettings,
};
pub use evaluate::{
    commit_evaluation, evaluate_vehicle, evaluate_vehicle_with, EvaluateError, Evaluation,
};
pub use events::{BusinessEvent, EventSink, Events};
pub use forecasting::forecast_vehicle;
pub use messages::{ComposeOffer, EvaluateVehicle, NightlyShard};
pub use nightly::{
    commit_page, forecast_page, needs_evaluation, plan_night, run_date_of, run_shard, start_shard,
    ForecastedPage, NightPlan, ShardBudget, ShardReport, ShardRun,
};
pub use visits::{
    honour_earlier_stop, record_visit, store_visit, store_visit_owned, store_visits, EarlierStop,
    OwnershipChanged, RecordVisitError, RecordedVisit, StoredVisitOutcome,
};
