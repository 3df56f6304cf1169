//! The vehicle: VIN, make, model, registration and warranty dates, licence plate.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::plate::Plate;
use super::text::{parse_text, TextError};
use super::vin::Vin;

macro_rules! vehicle_name {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = 60;

            /// Trims `text`; 1..=60 characters, no control characters.
            pub fn parse(text: &str) -> Result<Self, TextError> {
                parse_text(text, Self::MAX_CHARS).map($name)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = TextError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                $name::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }
    };
}

vehicle_name!(
    /// A vehicle make as the CRM spells it ("Toyota").
    Make
);
vehicle_name!(
    /// A vehicle model as the CRM spells it ("Camry").
    Model
);

/// Why a vehicle's dates do not fit together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VehicleError {
    #[error(
        "warranty cannot end ({warranty_until}) before first registration ({first_registration})"
    )]
    WarrantyEndsBeforeRegistration {
        first_registration: NaiveDate,
        warranty_until: NaiveDate,
    },
}

/// A vehicle; when a warranty end is known it is not before the first registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "VehicleDto", into = "VehicleDto")]
pub struct Vehicle {
    vin: Vin,
    make: Make,
    model: Model,
    first_registration: NaiveDate,
    warranty_until: Option<NaiveDate>,
    plate: Option<Plate>,
}

impl Vehicle {
    pub fn new(
        vin: Vin,
        make: Make,
        model: Model,
        first_registration: NaiveDate,
        warranty_until: Option<NaiveDate>,
    ) -> Result<Self, VehicleError> {
        if let Some(warranty_until) = warranty_until.filter(|w| *w < first_registration) {
            return Err(VehicleError::WarrantyEndsBeforeRegistration {
                first_registration,
                warranty_until,
            });
        }
        Ok(Vehicle {
            vin,
            make,
            model,
            first_registration,
            warranty_until,
            plate: None,
        })
    }

    /// The same vehicle with its licence plate (or without one).
    pub fn with_plate(mut self, plate: Option<Plate>) -> Self {
        self.plate = plate;
        self
    }

    pub fn plate(&self) -> Option<&Plate> {
        self.plate.as_ref()
    }

    pub fn vin(&self) -> &Vin {
        &self.vin
    }

    pub fn make(&self) -> &Make {
        &self.make
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    pub fn first_registration(&self) -> NaiveDate {
        self.first_registration
    }

    pub fn warranty_until(&self) -> Option<NaiveDate> {
        self.warranty_until
    }

    /// Whether the manufacturer's warranty still covers `date` (its last day included).
    pub fn under_warranty_on(&self, date: NaiveDate) -> bool {
        self.warranty_until.is_some_and(|w| date <= w)
    }
}

/// A vehicle as it arrives on the wire; dates are `YYYY-MM-DD` strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VehicleDto {
    pub vin: String,
    pub make: String,
    pub model: String,
    pub first_registration: String,
    #[serde(default)]
    pub warranty_until: Option<String>,
    /// The licence plate, in any alphabet and case, with or without spaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plate: Option<String>,
}

impl From<Vehicle> for VehicleDto {
    fn from(v: Vehicle) -> Self {
        VehicleDto {
            vin: v.vin.into(),
            make: v.make.into(),
            model: v.model.into(),
            first_registration: v.first_registration.format("%Y-%m-%d").to_string(),
            warranty_until: v.warranty_until.map(|d| d.format("%Y-%m-%d").to_string()),
            plate: v.plate.map(String::from),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn camry(warranty_until: Option<NaiveDate>) -> Result<Vehicle, VehicleError> {
        Vehicle::new(
            Vin::parse("XW7BE40K70S025476").unwrap(),
            Make::parse("Toyota").unwrap(),
            Model::parse("Camry").unwrap(),
            date(2019, 5, 20),
            warranty_until,
        )
    }

    #[test]
    fn a_make_or_model_is_trimmed_and_bounded_to_60_characters() {
        assert_eq!(Make::parse(" Lada ").unwrap().as_str(), "Lada");
        assert!(Model::parse(&"x".repeat(60)).is_ok());
        assert_eq!(
            Model::parse(&"x".repeat(61)),
            Err(TextError::TooLong { max: 60, len: 61 })
        );
        assert_eq!(Make::parse("  "), Err(TextError::Blank));
    }

    #[test]
    fn a_warranty_ending_before_first_registration_is_rejected() {
        assert_eq!(
            camry(Some(date(2019, 5, 19))),
            Err(VehicleError::WarrantyEndsBeforeRegistration {
                first_registration: date(2019, 5, 20),
                warranty_until: date(2019, 5, 19),
            })
        );
        assert!(camry(Some(date(2019, 5, 20))).is_ok());
        assert!(camry(None).is_ok());
    }

    #[test]
    fn a_vehicle_is_under_warranty_up_to_and_including_the_last_day() {
        let car = camry(Some(date(2022, 5, 20))).unwrap();
        assert!(car.under_warranty_on(date(2022, 5, 20)));
        assert!(!car.under_warranty_on(date(2022, 5, 21)));
        assert!(!camry(None).unwrap().under_warranty_on(date(2019, 6, 1)));
    }

    #[test]
    fn a_vehicle_round_trips_through_the_wire_shape() {
        let car = camry(Some(date(2022, 5, 20))).unwrap();
        let json = serde_json::to_value(&car).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"vin": "XW7BE40K70S025476", "make": "Toyota", "model": "Camry",
                               "first_registration": "2019-05-20", "warranty_until": "2022-05-20"})
        );
        assert_eq!(serde_json::from_value::<Vehicle>(json).unwrap(), car);
    }

    #[test]
    fn a_vehicle_keeps_its_plate_normalised_through_the_wire_shape() {
        let plate = Plate::parse("a123bc 777").unwrap();
        let car = camry(None).unwrap().with_plate(Some(plate));
        let json = serde_json::to_value(&car).unwrap();
        assert_eq!(json["plate"], "А123ВС777");
        let back = serde_json::from_value::<Vehicle>(json).unwrap();
        assert_eq!(back.plate().map(Plate::as_str), Some("А123ВС777"));
    }
}
