//! Button data is never trusted: the offer a button names must exist and be the sender's, its
//! car still theirs and not sold, and (for answers that act on the cycle) its cycle still the
//! car's open one. A button from an old message is refused with a Russian answer saying why.

use domain::triggers::Stage;
use domain::Vehicle;
use store::repo::{Repos, StoredOffer, StoredVehicle};
use store::Store;

use super::answers::{ClosedBecause, CycleClosure};
use super::{customer_at, UpdateError};
use crate::compose::OfferRecord;
use crate::ports::Address;

/// What a button must still be able to act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Need {
    /// The sender's offer about a car of theirs that is not sold (undoing «Не присылать»).
    Owner,
    /// And the offer's cycle is not closed: nobody answered it, no visit or newer cycle
    /// closed it.
    OpenCycle,
}

/// An offer checked for its sender.
pub(super) struct Checked {
    pub customer_id: String,
    pub offer: StoredOffer<OfferRecord>,
    pub vehicle: StoredVehicle<Vehicle>,
}

impl Checked {
    pub fn stage(&self) -> Stage {
        self.offer.offer.stage
    }

    /// «Toyota Camry».
    pub fn car(&self) -> String {
        let v = &self.vehicle.vehicle;
        format!("{} {}", v.make().as_str(), v.model().as_str())
    }
}

fn refused(text: &str) -> UpdateError {
    UpdateError::Refused(text.to_owned())
}

/// The answer to a button of a cycle the customer closed by an answer before.
pub(super) fn already_answered(closure: &CycleClosure) -> String {
    let what = match closure.reason {
        ClosedBecause::ServicedHere => "автомобиль уже обслужен у нас",
        ClosedBecause::ServicedElsewhere => "автомобиль обслужен в другом сервисе",
        ClosedBecause::Sold => "автомобиль продан",
    };
    format!("Вы уже ответили на это сообщение: {what}. Больше ничего делать не нужно.")
}

/// The offer `offer_id` if `from` may act on it as `need` says; a refusal with the reason
/// otherwise.
pub(super) async fn offer_for<S: Store>(
    repos: &Repos<S>,
    offer_id: &str,
    from: &Address,
    need: Need,
) -> Result<Checked, UpdateError> {
    let Some(offer) = repos.offers.get::<OfferRecord>(offer_id).await? else {
        return Err(UpdateError::NotFound(format!("offer {offer_id}")));
    };
    let customer_id = match customer_at(repos, from).await? {
        Some(id) if id == offer.customer_id => id,
        _ => return Err(UpdateError::Forbidden(from.clone())),
    };
    let vehicle = match repos.vehicles.get::<Vehicle>(&offer.vin).await? {
        Some(v) if v.customer_id == customer_id => v,
        _ => {
            return Err(refused(
                "Автомобиль из этого сообщения больше не числится за вами, поэтому кнопка не действует.",
            ))
        }
    };
    if vehicle.contact.sold_at.is_some() {
        return Err(refused(
            "Вы сообщили, что продали этот автомобиль: сообщения о нём больше не приходят.",
        ));
    }
    if need == Need::OpenCycle {
        let cycle_id = &offer.offer.cycle_id;
        let open = repos
            .cycles
            .open_cycle::<serde::de::IgnoredAny>(&offer.vin)
            .await?;
        let current = match open {
            Some((id, _)) => id == *cycle_id,
            None => !repos.cycles.is_closed(&offer.vin, cycle_id).await?,
        };
        if !current {
            let closure = repos
                .cycles
                .closure::<CycleClosure>(&offer.vin, cycle_id)
                .await?;
            tracing::info!(offer_id = %offer_id, vehicle_id = %offer.vin, "button of a closed cycle refused");
            return Err(UpdateError::Refused(match closure {
                Some(closure) => already_answered(&closure),
                None => "Это сообщение устарело: после него был визит или пришло новое \
                         сообщение. Воспользуйтесь, пожалуйста, последним."
                    .to_owned(),
            }));
        }
    }
    Ok(Checked {
        customer_id,
        offer,
        vehicle,
    })
}
