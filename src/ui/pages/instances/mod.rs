//! Gateway instances: the list, an instance's layout and overview, and the dialogs.

mod dialogs;
mod list;
mod overview;

pub use list::{InstanceLayout, InstanceOverview, InstancesPage};
