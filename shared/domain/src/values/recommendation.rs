//! Work the advisor recommended at a visit and the customer declined: what it is, how urgent,
//! and what it was estimated to cost. The visits contract carries them as `recommendations`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::work_order::{parse_code, parse_name, LineError};
use crate::money::{Money, MoneyError};

/// How soon the declined work should be done, as the advisor judged it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// Brakes, steering, tyres worn to the limit: driving on is a risk.
    Safety,
    /// Will need doing within months.
    Soon,
    /// Worth doing at a later visit.
    Later,
}

impl Urgency {
    pub const ALL: [Urgency; 3] = [Urgency::Safety, Urgency::Soon, Urgency::Later];

    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Safety => "safety",
            Urgency::Soon => "soon",
            Urgency::Later => "later",
        }
    }

    /// Parses the wire name exactly (lower case).
    pub fn parse(text: &str) -> Result<Self, RecommendationError> {
        Self::ALL
            .into_iter()
            .find(|u| u.as_str() == text)
            .ok_or_else(|| RecommendationError::UnknownUrgency(text.chars().take(40).collect()))
    }
}

impl fmt::Display for Urgency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem with one field of a recommendation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecommendationError {
    #[error(transparent)]
    Line(LineError),
    #[error("urgency must be one of safety, soon, later; got {0:?}")]
    UnknownUrgency(String),
    #[error("labour estimate: {0}")]
    Labor(MoneyError),
    #[error("parts estimate: {0}")]
    Parts(MoneyError),
}

impl RecommendationError {
    /// The wire field the problem is in.
    pub fn field(&self) -> &'static str {
        match self {
            RecommendationError::Line(e) => e.field(),
            RecommendationError::UnknownUrgency(_) => "urgency",
            RecommendationError::Labor(_) => "labor_estimate",
            RecommendationError::Parts(_) => "parts_estimate",
        }
    }
}

/// Declined work: `code` is the labour code the workshop would use (a later visit with a line of
/// that code did the work), the estimates are totals in roubles.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RecommendationDto", into = "RecommendationDto")]
pub struct Recommendation {
    pub code: String,
    pub name: String,
    pub urgency: Urgency,
    pub labor_estimate: Money,
    pub parts_estimate: Money,
}

impl Recommendation {
    /// What the customer was quoted for the whole job.
    pub fn estimate(&self) -> Money {
        self.labor_estimate + self.parts_estimate
    }
}

/// A recommendation as it arrives on the wire: money as strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecommendationDto {
    pub code: String,
    pub name: String,
    pub urgency: String,
    pub labor_estimate: String,
    pub parts_estimate: String,
}

impl RecommendationDto {
    /// Checks every field and reports every problem, each with its wire field.
    pub fn check(&self) -> Result<Recommendation, Vec<RecommendationError>> {
        let mut errors = Vec::new();
        fn keep<T>(
            errors: &mut Vec<RecommendationError>,
            r: Result<T, RecommendationError>,
        ) -> Option<T> {
            r.map_err(|e| errors.push(e)).ok()
        }
        let e = &mut errors;
        let code = keep(e, parse_code(&self.code).map_err(RecommendationError::Line));
        let name = keep(e, parse_name(&self.name).map_err(RecommendationError::Line));
        let urgency = keep(e, Urgency::parse(&self.urgency));
        let labor = keep(
            e,
            Money::parse(&self.labor_estimate).map_err(RecommendationError::Labor),
        );
        let parts = keep(
            e,
            Money::parse(&self.parts_estimate).map_err(RecommendationError::Parts),
        );
        match (code, name, urgency, labor, parts) {
            (Some(code), Some(name), Some(urgency), Some(labor_estimate), Some(parts_estimate)) => {
                Ok(Recommendation {
                    code,
                    name,
                    urgency,
                    labor_estimate,
                    parts_estimate,
                })
            }
            _ => Err(errors),
        }
    }
}

impl TryFrom<RecommendationDto> for Recommendation {
    type Error = String;
    fn try_from(dto: RecommendationDto) -> Result<Self, Self::Error> {
        dto.check().map_err(|errors| {
            errors
                .iter()
                .map(|e| format!("{}: {e}", e.field()))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }
}

impl From<Recommendation> for RecommendationDto {
    fn from(r: Recommendation) -> Self {
        RecommendationDto {
            code: r.code,
            name: r.name,
            urgency: r.urgency.as_str().to_owned(),
            labor_estimate: r.labor_estimate.to_string(),
            parts_estimate: r.parts_estimate.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dto(urgency: &str, labor: &str, parts: &str) -> RecommendationDto {
        RecommendationDto {
            code: " BRK-F ".into(),
            name: "Замена передних тормозных колодок".into(),
            urgency: urgency.into(),
            labor_estimate: labor.into(),
            parts_estimate: parts.into(),
        }
    }

    #[test]
    fn a_valid_recommendation_is_trimmed_and_totalled() {
        let r = dto("safety", "2400.00", "5600.50").check().unwrap();
        assert_eq!(r.code, "BRK-F");
        assert_eq!(r.urgency, Urgency::Safety);
        assert_eq!(r.estimate(), Money::parse("8000.50").unwrap());
        let back: Recommendation =
            serde_json::from_value(serde_json::to_value(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut bad = dto("urgent", "-1", "abc");
        bad.code = " ".into();
        let errors = bad.check().unwrap_err();
        let fields: Vec<_> = errors.iter().map(RecommendationError::field).collect();
        assert_eq!(
            fields,
            ["code", "urgency", "labor_estimate", "parts_estimate"]
        );
        assert!(errors[1].to_string().contains("\"urgent\""));
    }
}
