//! Contract of the repositories: the guarantees of the storage layer, on both backends.
