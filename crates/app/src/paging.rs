//! Keyset paging, once: a listing asks its store for one row more than the page
//! holds, keeps `limit`, and names the last kept row's key as `next` when there
//! were more.

use crate::Error;

/// A page of a listing and the cursor of the next one.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The key to continue after (`None` on the last page).
    pub next: Option<i64>,
}

impl<T> Page<T> {
    /// How many rows to read for a page of `limit`.
    pub fn fetch(limit: u32) -> u32 {
        limit.saturating_add(1)
    }

    /// The page of `rows` (read with [`Page::fetch`]): the first `limit`, and
    /// the key of the last one when more followed.
    pub fn cut(mut rows: Vec<T>, limit: u32, key: impl Fn(&T) -> i64) -> Page<T> {
        let limit = limit as usize;
        let next = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(key)
        } else {
            None
        };
        Page { items: rows, next }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
        }
    }
}

/// What a listing's query asks: its `limit` and its cursor, as received.
#[derive(Debug, Clone, Default)]
pub struct PageQuery {
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

/// A listing's bounds and the names its refusals use.
pub struct Paging {
    pub default: u32,
    pub max: u32,
    /// The cursor parameter's name (`after`, `before`).
    pub cursor: &'static str,
    /// What the cursor is, for the refusal (`a job id`).
    pub what: &'static str,
}

impl Paging {
    /// The limit (1 to `max`, `default` when absent) and the cursor (an id) of `q`.
    pub fn read(&self, q: PageQuery) -> Result<(u32, Option<i64>), Error> {
        let limit = match q.limit.filter(|s| !s.is_empty()) {
            None => self.default,
            Some(s) => s
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=self.max).contains(n))
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "limit: must be a whole number from 1 to {}",
                        self.max
                    ))
                })?,
        };
        let cursor = q
            .cursor
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<i64>()
                    .map_err(|_| Error::invalid(format!("{}: must be {}", self.cursor, self.what)))
            })
            .transpose()?;
        Ok((limit, cursor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_keeps_its_limit_and_names_the_next_key_only_when_more_follow() {
        let more = Page::cut(vec![9, 8, 7], 2, |n| *n as i64);
        assert_eq!((more.items, more.next), (vec![9, 8], Some(8)));
        let last = Page::cut(vec![9, 8], 2, |n| *n as i64);
        assert_eq!((last.items, last.next), (vec![9, 8], None));
        assert_eq!(Page::<u8>::fetch(u32::MAX), u32::MAX);
    }

    #[test]
    fn limits_and_cursors_are_read_or_refused_by_name() {
        let paging = Paging {
            default: 50,
            max: 200,
            cursor: "after",
            what: "a job id",
        };
        let q = |limit: Option<&str>, cursor: Option<&str>| PageQuery {
            limit: limit.map(str::to_owned),
            cursor: cursor.map(str::to_owned),
        };
        assert_eq!(paging.read(q(None, None)).unwrap(), (50, None));
        assert_eq!(paging.read(q(Some(""), Some(""))).unwrap(), (50, None));
        assert_eq!(
            paging.read(q(Some("7"), Some("12"))).unwrap(),
            (7, Some(12))
        );
        for bad in ["0", "201", "x"] {
            let e = paging.read(q(Some(bad), None)).unwrap_err();
            assert_eq!(e.message(), "limit: must be a whole number from 1 to 200");
        }
        let e = paging.read(q(None, Some("x"))).unwrap_err();
        assert_eq!(e.message(), "after: must be a job id");
    }
}
