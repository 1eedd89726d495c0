//! The console's user interface: shared components and one page module per resource.

pub mod components;
pub mod pages;
