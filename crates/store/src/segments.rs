//! Items are stored as a few JSON-array segments per job rather than a row per item.

/// Consecutive items `[first_index, first_index + count)` as one JSON array text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub first_index: u32,
    pub count: u32,
    pub json: String,
}

/// Items per stored segment.
pub const SEGMENT_ITEMS: usize = 100;

/// Splits raw item texts into segments; each segment's text is allocated once,
/// at its exact size (memory proportional to the items, whatever their shape).
pub fn segment_items<'a>(items: impl IntoIterator<Item = &'a str>) -> Vec<Segment> {
    let items: Vec<&str> = items.into_iter().collect();
    items
        .chunks(SEGMENT_ITEMS)
        .enumerate()
        .map(|(n, texts)| {
            let bytes = texts.iter().map(|t| t.len() + 1).sum::<usize>() + 1;
            let mut json = String::with_capacity(bytes);
            json.push('[');
            for (i, text) in texts.iter().enumerate() {
                if i > 0 {
                    json.push(',');
                }
                json.push_str(text);
            }
            json.push(']');
            Segment {
                first_index: (n * SEGMENT_ITEMS) as u32,
                count: texts.len() as u32,
                json,
            }
        })
        .collect()
}

/// Cuts `[from, from + count)` out of stored segments (given in index order).
pub fn slice_segments(
    segments: impl IntoIterator<Item = (u32, String)>,
    from: u32,
    count: u32,
) -> Result<Vec<(u32, String)>, serde_json::Error> {
    let end = from.saturating_add(count);
    let mut out = Vec::with_capacity(count as usize);
    for (first, json) in segments {
        let items: Vec<&serde_json::value::RawValue> = serde_json::from_str(&json)?;
        for (offset, raw) in items.into_iter().enumerate() {
            let index = first + offset as u32;
            if index >= from && index < end {
                out.push((index, raw.get().to_owned()));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_round_trip_through_slices() {
        let texts: Vec<String> = (0..250).map(|i| format!("{{\"n\":{i}}}")).collect();
        let segs = segment_items(texts.iter().map(String::as_str));
        assert_eq!(segs.len(), 3);
        assert_eq!((segs[2].first_index, segs[2].count), (200, 50));
        let stored = segs.iter().map(|s| (s.first_index, s.json.clone()));
        let slice = slice_segments(stored, 95, 10).unwrap();
        assert_eq!(slice.len(), 10);
        assert_eq!(slice[0], (95, "{\"n\":95}".to_owned()));
        assert_eq!(slice[9], (104, "{\"n\":104}".to_owned()));
    }

    #[test]
    fn a_segment_takes_the_size_of_its_items_not_a_hundred_times_the_first() {
        let big = format!("\"{}\"", "x".repeat(1_000_000));
        let segs = segment_items([big.as_str(), "1"]);
        assert_eq!(segs[0].json.len(), big.len() + 4);
        assert!(segs[0].json.capacity() <= big.len() + 4);
    }
}
