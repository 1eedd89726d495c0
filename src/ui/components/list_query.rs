//! The URL state of a list page: search text, page, page size and the opened record. Kept in
//! the query string so every view survives reload, back/forward and sharing.

use crate::domain::paging::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use crate::domain::url_encode;
use leptos_router::params::ParamsMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub q: String,
    pub page: u32,
    pub size: u32,
    /// The record whose details panel is open.
    pub selected: Option<String>,
    /// Further filters of the page (`key`, `value`), kept in every link.
    pub filters: Vec<(String, String)>,
}

/// The first page, nothing searched or opened.
impl Default for ListQuery {
    fn default() -> Self {
        ListQuery {
            q: String::new(),
            page: 1,
            size: DEFAULT_PAGE_SIZE,
            selected: None,
            filters: Vec::new(),
        }
    }
}

impl ListQuery {
    /// Reads the query string; nonsense numbers fall back to the defaults.
    pub fn from_params(map: &ParamsMap, selected_key: &str) -> ListQuery {
        let page = map
            .get("page")
            .and_then(|p| p.parse().ok())
            .filter(|p| *p >= 1)
            .unwrap_or(1);
        let size = map
            .get("size")
            .and_then(|p| p.parse().ok())
            .filter(|s| (1..=MAX_PAGE_SIZE).contains(s))
            .unwrap_or(DEFAULT_PAGE_SIZE);
        ListQuery {
            q: map.get("q").unwrap_or_default(),
            page,
            size,
            selected: map.get(selected_key).filter(|s| !s.is_empty()),
            filters: Vec::new(),
        }
    }

    /// Also reads the page's own filters, in the given order.
    pub fn with_filters(mut self, map: &ParamsMap, keys: &[&str]) -> ListQuery {
        self.filters = keys
            .iter()
            .filter_map(|k| {
                map.get(k)
                    .filter(|v| !v.is_empty())
                    .map(|v| ((*k).to_owned(), v))
            })
            .collect();
        self
    }

    /// The same state without the given filters (for example a details panel's own state
    /// when another record is opened).
    pub fn without_filters(&self, keys: &[&str]) -> ListQuery {
        ListQuery {
            filters: self
                .filters
                .iter()
                .filter(|(k, _)| !keys.contains(&k.as_str()))
                .cloned()
                .collect(),
            ..self.clone()
        }
    }

    /// The value of one of the page's filters, or "".
    pub fn filter(&self, key: &str) -> String {
        self.filters
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    /// The query string (with `?`) for this state.
    pub fn href(&self, selected_key: &str) -> String {
        let mut parts = Vec::new();
        if !self.q.is_empty() {
            parts.push(format!("q={}", url_encode(&self.q)));
        }
        if self.page != 1 {
            parts.push(format!("page={}", self.page));
        }
        if self.size != DEFAULT_PAGE_SIZE {
            parts.push(format!("size={}", self.size));
        }
        for (k, v) in &self.filters {
            parts.push(format!("{k}={}", url_encode(v)));
        }
        if let Some(s) = &self.selected {
            parts.push(format!("{selected_key}={}", url_encode(s)));
        }
        if parts.is_empty() {
            "?".to_owned()
        } else {
            format!("?{}", parts.join("&"))
        }
    }

    pub fn with_page(&self, page: u32) -> ListQuery {
        ListQuery {
            page,
            ..self.clone()
        }
    }

    pub fn with_selected(&self, selected: Option<String>) -> ListQuery {
        ListQuery {
            selected,
            ..self.clone()
        }
    }
}
