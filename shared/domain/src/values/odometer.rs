//! Odometer readings in whole kilometres.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why an odometer reading was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OdometerError {
    #[error("odometer must not be negative, got {km} km")]
    Negative { km: i64 },
    #[error("odometer must be at most 2000000 km, got {km} km")]
    TooLarge { km: u64 },
    #[error("odometer must be a whole number of kilometres, got {0}")]
    NotAnInteger(String),
}

/// An odometer reading, 0..=2 000 000 km. A JSON integer on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Odometer(u32);

impl Odometer {
    pub const MAX_KM: u32 = 2_000_000;

    pub fn new(km: i64) -> Result<Self, OdometerError> {
        if km < 0 {
            Err(OdometerError::Negative { km })
        } else {
            Self::from_unsigned(km.unsigned_abs())
        }
    }

    fn from_unsigned(km: u64) -> Result<Self, OdometerError> {
        match u32::try_from(km) {
            Ok(km) if km <= Self::MAX_KM => Ok(Odometer(km)),
            _ => Err(OdometerError::TooLarge { km }),
        }
    }

    pub fn km(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Odometer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} km", self.0)
    }
}

impl Serialize for Odometer {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u32(self.0)
    }
}

struct OdometerVisitor;

impl Visitor<'_> for OdometerVisitor {
    type Value = Odometer;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an odometer reading in whole kilometres (0..=2000000)")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Odometer, E> {
        Odometer::new(v).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Odometer, E> {
        Odometer::from_unsigned(v).map_err(E::custom)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Odometer, E> {
        Err(E::custom(OdometerError::NotAnInteger(v.to_string())))
    }
}

impl<'de> Deserialize<'de> for Odometer {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_u64(OdometerVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_reading_from_zero_to_two_million_km_is_accepted() {
        assert_eq!(Odometer::new(0).unwrap().km(), 0);
        assert_eq!(Odometer::new(90_000).unwrap().km(), 90_000);
        assert_eq!(Odometer::new(2_000_000).unwrap().km(), 2_000_000);
    }

    #[test]
    fn a_negative_odometer_is_rejected() {
        assert_eq!(Odometer::new(-1), Err(OdometerError::Negative { km: -1 }));
    }

    #[test]
    fn an_odometer_above_two_million_km_is_rejected() {
        assert_eq!(
            Odometer::new(2_000_001),
            Err(OdometerError::TooLarge { km: 2_000_001 })
        );
        assert_eq!(
            Odometer::new(i64::MAX),
            Err(OdometerError::TooLarge {
                km: i64::MAX as u64
            })
        );
    }

    #[test]
    fn an_odometer_is_a_json_integer() {
        let odo = Odometer::new(90_000).unwrap();
        assert_eq!(serde_json::to_string(&odo).unwrap(), "90000");
        assert_eq!(serde_json::from_str::<Odometer>("90000").unwrap(), odo);
    }

    #[test]
    fn a_fractional_negative_huge_or_quoted_json_odometer_is_rejected() {
        let err = |json: &str| {
            serde_json::from_str::<Odometer>(json)
                .unwrap_err()
                .to_string()
        };
        assert!(
            err("90000.5").contains("whole number"),
            "{}",
            err("90000.5")
        );
        assert!(err("90000.0").contains("whole number"));
        assert!(err("-5").contains("must not be negative"));
        assert!(err("18446744073709551615").contains("at most 2000000"));
        assert!(err("1e30").contains("whole number"));
        assert!(serde_json::from_str::<Odometer>("\"90000\"").is_err());
        assert!(serde_json::from_str::<Odometer>("null").is_err());
    }

    proptest! {
        #[test]
        fn an_odometer_is_accepted_exactly_when_within_range(km in any::<i64>()) {
            let in_range = (0..=2_000_000).contains(&km);
            prop_assert_eq!(Odometer::new(km).is_ok(), in_range);
            if in_range {
                prop_assert_eq!(i64::from(Odometer::new(km).unwrap().km()), km);
            }
        }
    }
}
