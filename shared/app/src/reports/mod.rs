//! The dealer's reports as use cases: each returns typed rows and renders them to a [`Table`],
//! which the writers in [`export`] turn into XLSX, CSV or terminal text, so the CLI, an HTTP
//! route and a Lambda produce the same rows.

pub mod abc;
pub mod base;
pub mod export;
pub mod lost;
pub mod mileage;
pub mod offers;
pub mod query;
pub mod rfm;
pub mod ru;
pub mod table;
#[cfg(test)]
mod tests;

use std::fmt;

use chrono::NaiveDate;
use domain::policy::{AbcBasis, Policy};
use store::repo::Repos;
use store::{Store, StoreError};

pub use abc::{abc_report, AbcReport, AbcRow};
pub use base::{Base, CustomerFacts, Period, VehicleFacts, VisitFacts};
pub use export::{export, ExportError, Format};
pub use lost::{lost_report, LostReport, LostRow, VisitBand};
pub use mileage::{mileage_report, DueBucket, MileageReport, MileageRow, WorkOrderRef};
pub use offers::{offers_report, OfferRow, OffersFilter, OffersReport};
pub use query::options_from_query;
pub use rfm::{rfm_report, RfmReport, RfmRow};
pub use table::{Cell, Column, ColumnKind, Table};

/// The reports there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReportName {
    Mileage,
    Lost,
    Abc,
    Rfm,
    Offers,
    /// The KPIs of a period (`crate::kpi`).
    Kpi,
    /// The message funnel by stage and offer rule.
    Funnel,
    /// The control-group uplift.
    Uplift,
}

impl ReportName {
    pub const ALL: [ReportName; 8] = [
        ReportName::Mileage,
        ReportName::Lost,
        ReportName::Abc,
        ReportName::Rfm,
        ReportName::Offers,
        ReportName::Kpi,
        ReportName::Funnel,
        ReportName::Uplift,
    ];

    /// The name on the command line, in a URL and in file names.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportName::Mileage => "mileage",
            ReportName::Lost => "lost",
            ReportName::Abc => "abc",
            ReportName::Rfm => "rfm",
            ReportName::Offers => "offers",
            ReportName::Kpi => "kpi",
            ReportName::Funnel => "funnel",
            ReportName::Uplift => "uplift",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

impl fmt::Display for ReportName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a caller asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRequest {
    pub name: ReportName,
    /// The report day: due dates and statuses are counted from it.
    pub at: NaiveDate,
    /// Revenue, margin, visits and messages are counted over it.
    pub period: Period,
    /// What ABC ranks by; the policy's basis when `None`.
    pub abc_by: Option<AbcBasis>,
    /// Whose messages `offers` lists.
    pub offers: OffersFilter,
    /// `uplift` (and the uplift rows of `kpi`): days after the period a visit still counts;
    /// [`crate::kpi::DEFAULT_GRACE_DAYS`] when `None`.
    pub grace_days: Option<u32>,
}

impl ReportRequest {
    /// The report on `at` over the whole history up to it.
    pub fn on(name: ReportName, at: NaiveDate) -> Self {
        ReportRequest {
            name,
            at,
            period: Period::until(at),
            abc_by: None,
            offers: OffersFilter::All,
            grace_days: None,
        }
    }
}

/// What a caller may choose (the CLI's options, an HTTP route's query), before the defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportOptions {
    pub at: Option<NaiveDate>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub by: Option<AbcBasis>,
    pub customer: Option<String>,
    pub vin: Option<String>,
    pub grace_days: Option<u32>,
}

/// `revenue` or `margin`.
pub fn parse_basis(text: &str) -> Option<AbcBasis> {
    match text {
        "revenue" => Some(AbcBasis::Revenue),
        "margin" => Some(AbcBasis::Margin),
        _ => None,
    }
}

impl ReportRequest {
    /// The request `options` make for `name`: the report day is `today` unless given, the
    /// period ends on it and starts with the history unless given; options of another report
    /// are refused with the reason.
    pub fn from_options(
        name: ReportName,
        options: &ReportOptions,
        today: NaiveDate,
    ) -> Result<Self, String> {
        if options.by.is_some() && name != ReportName::Abc {
            return Err("by (revenue or margin) applies to the abc report only".into());
        }
        if (options.customer.is_some() || options.vin.is_some()) && name != ReportName::Offers {
            return Err("customer and vin apply to the offers report only".into());
        }
        if options.grace_days.is_some() && !matches!(name, ReportName::Kpi | ReportName::Uplift) {
            return Err("grace-days applies to the kpi and uplift reports only".into());
        }
        if options.customer.is_some() && options.vin.is_some() {
            return Err("give either a customer or a vin".into());
        }
        let at = options.at.unwrap_or(today);
        let offers = match (&options.customer, &options.vin) {
            (Some(id), _) => OffersFilter::Customer(id.clone()),
            (None, Some(vin)) => OffersFilter::Vin(vin.trim().to_uppercase()),
            (None, None) => OffersFilter::All,
        };
        Ok(ReportRequest {
            name,
            at,
            period: Period {
                from: options.from,
                to: options.to.unwrap_or(at),
            },
            abc_by: options.by,
            offers,
            grace_days: options.grace_days,
        })
    }
}

/// Why a report could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("the period starts ({from}) after it ends ({to})")]
    EmptyPeriod { from: NaiveDate, to: NaiveDate },
    #[error("no customer {0}")]
    UnknownCustomer(String),
    #[error("no vehicle {0}")]
    UnknownVehicle(String),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

/// Builds the requested report from the store.
pub async fn build_table<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    request: &ReportRequest,
) -> Result<Table, ReportError> {
    if let Some(from) = request.period.from.filter(|&f| f > request.period.to) {
        return Err(ReportError::EmptyPeriod {
            from,
            to: request.period.to,
        });
    }
    let base = match (&request.name, &request.offers) {
        (ReportName::Offers, OffersFilter::Customer(id)) => Base::load_customer(repos, policy, id)
            .await?
            .ok_or_else(|| ReportError::UnknownCustomer(id.clone()))?,
        (ReportName::Offers, OffersFilter::Vin(vin)) => {
            let vehicle = repos
                .vehicles
                .get::<domain::Vehicle>(vin)
                .await?
                .ok_or_else(|| ReportError::UnknownVehicle(vin.clone()))?;
            Base::load_customer(repos, policy, &vehicle.customer_id)
                .await?
                .ok_or_else(|| ReportError::UnknownVehicle(vin.clone()))?
        }
        _ => Base::load(repos, policy).await?,
    };
    table_of(repos, &base, policy, request).await
}

/// Builds the requested report over a base loaded before (several reports, one load).
pub async fn table_of<S: Store>(
    repos: &Repos<S>,
    base: &Base,
    policy: &Policy,
    request: &ReportRequest,
) -> Result<Table, ReportError> {
    let (at, period) = (request.at, request.period);
    Ok(match request.name {
        ReportName::Mileage => mileage_report(repos, base, at).await?.table(),
        ReportName::Lost => lost_report(base, policy, at, period).table(),
        ReportName::Abc => abc_report(base, policy, period, request.abc_by).table(),
        ReportName::Rfm => rfm_report(base, at, period).table(),
        ReportName::Offers => offers_report(repos, base, policy, request.offers.clone(), period)
            .await?
            .table(),
        ReportName::Kpi | ReportName::Funnel | ReportName::Uplift => {
            let report =
                crate::kpi::compute_with_base(repos, base, policy, &kpi_query(request)).await?;
            match request.name {
                ReportName::Kpi => report.kpi_table(),
                ReportName::Funnel => report.funnel_table(),
                _ => report.uplift_table(),
            }
        }
    })
}

/// The KPI query a report request makes: its period (the last
/// [`crate::kpi::DEFAULT_PERIOD_DAYS`] days when it has no start) as of its report day.
pub fn kpi_query(request: &ReportRequest) -> crate::kpi::KpiQuery {
    let mut query =
        crate::kpi::KpiQuery::of_period(request.period.from, request.period.to, request.at);
    if let Some(days) = request.grace_days {
        query.grace_days = days;
    }
    query
}
