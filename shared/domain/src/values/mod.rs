//! Values parsed at the edge: VIN, odometer, phone, names, ids, work-order lines, visits.

mod work_order;

pub use work_order::{
    LineDto, LineError, LineErrors, LineKind, Quantity, QuantityError, WorkOrderLine,
};
