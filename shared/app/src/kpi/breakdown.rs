//! Figures broken down by the dimensions the marketer slices by: every fact adds to the total
//! and to each dimension it has (the car's age band, the message's stage, its offer rule, the
//! service advisor, and for the funnel the stage with the rule).

use std::collections::BTreeMap;

use domain::status::AgeBand;
use domain::triggers::Stage;
use serde::{Deserialize, Serialize};

/// One slice of the figures.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "by", content = "value", rename_all = "snake_case")]
pub enum Dimension {
    /// Everything.
    Total,
    /// The car's age band on the day of the fact.
    AgeBand(AgeBand),
    /// The stage of the message the fact belongs to.
    Stage(Stage),
    /// The offer rule that priced the message (its first rule id).
    Rule(String),
    /// A stage and its offer rule together (`None` for an unpriced message): the funnel's rows.
    StageRule { stage: Stage, rule: Option<String> },
    /// The service advisor: on the visit, or on the car's last visit before a message.
    Advisor(String),
}

/// What a fact is about; each `Some` puts the fact in that dimension's slice too.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags {
    pub age_band: Option<AgeBand>,
    pub stage: Option<Stage>,
    pub rule: Option<String>,
    pub advisor: Option<String>,
    /// Adds the stage-and-rule slice (the funnel's).
    pub stage_rule: bool,
}

impl Tags {
    fn dimensions(&self) -> Vec<Dimension> {
        let mut out = vec![Dimension::Total];
        out.extend(self.age_band.map(Dimension::AgeBand));
        out.extend(self.stage.map(Dimension::Stage));
        out.extend(self.rule.clone().map(Dimension::Rule));
        if let (true, Some(stage)) = (self.stage_rule, self.stage) {
            out.push(Dimension::StageRule {
                stage,
                rule: self.rule.clone(),
            });
        }
        out.extend(self.advisor.clone().map(Dimension::Advisor));
        out
    }
}

/// Figures that can be summed fact by fact and finished into shares.
pub trait Figures: Default {
    /// Fills the derived fields (shares, averages) from the counts.
    fn finish(&mut self) {}
}

/// One slice and its figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row<T> {
    pub dimension: Dimension,
    pub figures: T,
}

/// The figures of every slice, the total first, then by dimension in a fixed order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Breakdown<T> {
    pub rows: Vec<Row<T>>,
}

impl<T: Figures> Default for Breakdown<T> {
    fn default() -> Self {
        Breakdown {
            rows: vec![Row {
                dimension: Dimension::Total,
                figures: T::default(),
            }],
        }
    }
}

impl<T: Figures> Breakdown<T> {
    /// The figures over everything.
    pub fn total(&self) -> &T {
        &self.rows[0].figures
    }

    /// The figures of one slice, if any fact fell in it.
    pub fn get(&self, dimension: &Dimension) -> Option<&T> {
        self.rows
            .iter()
            .find(|r| r.dimension == *dimension)
            .map(|r| &r.figures)
    }
}

/// Builds a [`Breakdown`] fact by fact.
pub struct Tally<T> {
    slices: BTreeMap<Dimension, T>,
}

impl<T: Figures> Default for Tally<T> {
    fn default() -> Self {
        let mut slices = BTreeMap::new();
        slices.insert(Dimension::Total, T::default());
        Tally { slices }
    }
}

impl<T: Figures> Tally<T> {
    /// Adds a fact to the total and to each slice its tags name.
    pub fn add(&mut self, tags: &Tags, mut add: impl FnMut(&mut T)) {
        for dimension in tags.dimensions() {
            add(self.slices.entry(dimension).or_default());
        }
    }

    pub fn finish(self) -> Breakdown<T> {
        let rows = self
            .slices
            .into_iter()
            .map(|(dimension, mut figures)| {
                figures.finish();
                Row { dimension, figures }
            })
            .collect();
        Breakdown { rows }
    }
}
