//! Paging of AWS's list calls: one [`Cursor`] for every list walk of the provider (REST APIs,
//! usage plans, a usage plan's keys, API keys by name).
//!
//! API Gateway's list calls take a `limit` (at most [`PAGE_LIMIT`]) and a `position`, and answer
//! with the `position` of the next page, none on the last one (`docs/reference/aws-api-gateway.md`,
//! "Quotas and limits"). A walk looks like this:
//!
//! ```text
//! let mut cursor = Cursor::default();
//! loop {
//!     let page = call(limit = PAGE_LIMIT, position = cursor.position()).await?;
//!     out.extend(page.items());
//!     if !cursor.advance(page.position()) {
//!         break;
//!     }
//! }
//! ```

use std::collections::HashSet;

/// The page size of every paged list (AWS's maximum).
pub(crate) const PAGE_LIMIT: i32 = 500;
/// The most pages one walk reads (5 million items at [`PAGE_LIMIT`]).
const MAX_PAGES: usize = 10_000;

/// The `position` cursor of AWS's paged list calls. It ends on the last page (no position),
/// and also on a position already seen or after `MAX_PAGES` pages, so a misbehaving endpoint
/// cannot make a walk loop for ever.
#[derive(Debug, Default)]
pub(crate) struct Cursor {
    position: Option<String>,
    seen: HashSet<String>,
    pages: usize,
}

impl Cursor {
    /// The `position` to send for the next page (`None` for the first).
    pub(crate) fn position(&self) -> Option<String> {
        self.position.clone()
    }

    /// Records a page's returned `position`; false when there is no next page.
    pub(crate) fn advance(&mut self, next: Option<&str>) -> bool {
        self.pages += 1;
        match next {
            Some(next)
                if !next.is_empty()
                    && self.pages < MAX_PAGES
                    && self.seen.insert(next.to_owned()) =>
            {
                self.position = Some(next.to_owned());
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cursor_follows_positions_and_stops_on_the_last_page() {
        let mut cursor = Cursor::default();
        assert_eq!(cursor.position(), None);
        assert!(cursor.advance(Some("p2")));
        assert_eq!(cursor.position().as_deref(), Some("p2"));
        assert!(cursor.advance(Some("p3")));
        assert!(!cursor.advance(None));
        let mut empty = Cursor::default();
        assert!(!empty.advance(Some("")));
    }

    #[test]
    fn a_position_seen_before_ends_the_walk() {
        let mut cursor = Cursor::default();
        assert!(cursor.advance(Some("p2")));
        assert!(cursor.advance(Some("p3")));
        assert!(!cursor.advance(Some("p2")), "a loop back ends the walk");
    }

    #[test]
    fn a_walk_reads_at_most_max_pages() {
        let mut cursor = Cursor::default();
        let pages = (1..)
            .take_while(|n| cursor.advance(Some(&format!("p{n}"))))
            .count();
        assert_eq!(pages + 1, MAX_PAGES);
    }
}
