//! Network drivers.
