//! The one definition of the table: key attributes, global secondary indexes, TTL attribute.

/// Partition key attribute of the table.
pub const PK: &str = "pk";
/// Sort key attribute of the table.
pub const SK: &str = "sk";
/// TTL attribute: epoch seconds; an item whose value is at or before now is invisible.
pub const TTL: &str = "expires_at";

/// A global secondary index with string partition and sort keys, projecting all attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GsiSpec {
    pub name: &'static str,
    pub pk: &'static str,
    pub sk: &'static str,
}

/// Keys, indexes and TTL attribute of the single table (all key attributes are strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSpec {
    pub pk: &'static str,
    pub sk: &'static str,
    pub gsis: &'static [GsiSpec],
    pub ttl: &'static str,
}

/// Overloaded index 1: customer → vehicles/visits/offers, chat → customer, day → forecasts/bookings,
/// month → conversions.
pub const GSI1: GsiSpec = GsiSpec {
    name: "gsi1",
    pk: "gsi1pk",
    sk: "gsi1sk",
};

/// Overloaded index 2: phone → customer, unsent offers (sparse outbox), customer → bookings.
pub const GSI2: GsiSpec = GsiSpec {
    name: "gsi2",
    pk: "gsi2pk",
    sk: "gsi2sk",
};

/// The table every backend serves; `infra/template.yaml` must declare the same (a test checks).
pub const TABLE: TableSpec = TableSpec {
    pk: PK,
    sk: SK,
    gsis: &[GSI1, GSI2],
    ttl: TTL,
};

impl TableSpec {
    pub fn gsi(&self, name: &str) -> Option<&GsiSpec> {
        self.gsis.iter().find(|g| g.name == name)
    }

    /// Whether an attribute is a key of the table or of one of its indexes.
    pub fn is_key_attribute(&self, name: &str) -> bool {
        name == self.pk || name == self.sk || self.gsis.iter().any(|g| g.pk == name || g.sk == name)
    }
}
