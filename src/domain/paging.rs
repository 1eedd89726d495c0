//! Pagination shared by the console and the REST API: `pageNumber` from 1, `pageSize` 1–100
//! (10 by default), answers with the total.

use serde::{Deserialize, Serialize};

pub const DEFAULT_PAGE_SIZE: u32 = 10;
pub const MAX_PAGE_SIZE: u32 = 100;

/// A validated page request: `page_number` from 1, `page_size` 1..=100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PageRequest {
    pub page_number: u32,
    pub page_size: u32,
}

/// Why a page request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    #[error("pageNumber must be a whole number from 1.")]
    Number,
    #[error("pageSize must be a whole number from 1 to 100.")]
    Size,
}

impl PageRequest {
    /// The answer to this request: `items` of `total_size` in all.
    pub fn answer<T>(self, total_size: i64, items: Vec<T>) -> Page<T> {
        Page {
            total_size,
            page_number: self.page_number,
            page_size: self.page_size,
            items,
        }
    }

    pub fn new(page_number: Option<u32>, page_size: Option<u32>) -> Result<PageRequest, PageError> {
        let page_number = page_number.unwrap_or(1);
        let page_size = page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        if page_number == 0 {
            return Err(PageError::Number);
        }
        if page_size == 0 || page_size > MAX_PAGE_SIZE {
            return Err(PageError::Size);
        }
        Ok(PageRequest {
            page_number,
            page_size,
        })
    }

    pub fn offset(&self) -> i64 {
        (i64::from(self.page_number) - 1) * i64::from(self.page_size)
    }

    pub fn limit(&self) -> i64 {
        i64::from(self.page_size)
    }

    /// The total a page of `rows` rows reveals without counting: a page that is not full
    /// is the last one, unless it is empty past the first page (the total may then be less).
    pub fn total_if_last(&self, rows: usize) -> Option<i64> {
        let rows = i64::try_from(rows).ok()?;
        (rows < self.limit() && (rows > 0 || self.offset() == 0)).then(|| self.offset() + rows)
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest {
            page_number: 1,
            page_size: DEFAULT_PAGE_SIZE,
        }
    }
}

/// One page of a list, in the shape of the REST envelope's `data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub total_size: i64,
    pub page_number: u32,
    pub page_size: u32,
    pub items: Vec<T>,
}

impl<T> Page<T> {
    pub fn page_count(&self) -> i64 {
        let size = i64::from(self.page_size.max(1));
        ((self.total_size + size - 1) / size).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_page_that_is_not_full_tells_the_total() {
        let page = |n, size| PageRequest::new(Some(n), Some(size)).unwrap();
        assert_eq!(page(1, 10).total_if_last(0), Some(0));
        assert_eq!(page(1, 10).total_if_last(3), Some(3));
        assert_eq!(page(3, 10).total_if_last(9), Some(29));
        assert_eq!(page(1, 10).total_if_last(10), None);
        // Past the end nothing says how far the rows went.
        assert_eq!(page(3, 10).total_if_last(0), None);
    }

    #[test]
    fn defaults_are_page_one_of_ten() {
        assert_eq!(
            PageRequest::new(None, None).unwrap(),
            PageRequest {
                page_number: 1,
                page_size: 10
            }
        );
    }

    #[test]
    fn page_zero_and_oversized_pages_are_refused() {
        assert_eq!(PageRequest::new(Some(0), None), Err(PageError::Number));
        assert_eq!(PageRequest::new(None, Some(101)), Err(PageError::Size));
        assert_eq!(PageRequest::new(None, Some(0)), Err(PageError::Size));
    }

    #[test]
    fn the_offset_of_page_three_of_twenty_is_forty() {
        assert_eq!(PageRequest::new(Some(3), Some(20)).unwrap().offset(), 40);
    }

    #[test]
    fn an_empty_list_still_has_one_page() {
        let p: Page<()> = Page {
            total_size: 0,
            page_number: 1,
            page_size: 10,
            items: vec![],
        };
        assert_eq!(p.page_count(), 1);
    }
}
