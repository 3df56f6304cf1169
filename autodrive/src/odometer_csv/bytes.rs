//! Byte scanning for the row parser, eight bytes at a time.

/// The index of the first comma, line feed or quote in `data` from `start` on, else its length:
/// eight bytes at a time.
#[inline(always)]
pub(super) fn text_end(data: &[u8], start: usize) -> usize {
    let mut i = start;
    while let Some(word) = data.get(i..i + 8) {
        let word = u64::from_le_bytes(word.try_into().unwrap_or_default());
        let found = bytes_equal(word, b',') | bytes_equal(word, b'\n') | bytes_equal(word, b'"');
        if found != 0 {
            return i + (found.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i + data[i..]
        .iter()
        .take_while(|&&b| b != b',' && b != b'\n' && b != b'"')
        .count()
}

/// Where a field that repeats `known` (a text without delimiters) ends: `start + known.len()`
/// when `data` holds `known` there followed by a delimiter or nothing, as [`text_end`] would
/// find; `None` otherwise.
#[inline(always)]
pub(super) fn repeated_end(data: &[u8], start: usize, known: &[u8]) -> Option<usize> {
    let end = start + known.len();
    let delimited = matches!(data.get(end), None | Some(b',' | b'\n' | b'"'));
    (!known.is_empty() && delimited && same(data.get(start..end)?, known)).then_some(end)
}

/// Whether two short byte strings are equal (inline, where `==` calls `memcmp`): eight bytes at
/// a time.
#[inline(always)]
pub(super) fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let word = |w: &[u8], i: usize| u64::from_le_bytes(w[i..i + 8].try_into().unwrap_or_default());
    let mut i = 0;
    while i + 8 <= a.len() {
        if word(a, i) != word(b, i) {
            return false;
        }
        i += 8;
    }
    a[i..].iter().zip(&b[i..]).all(|(x, y)| x == y)
}

/// A mask with the top bit of each byte of `word` that equals `b`.
#[inline(always)]
pub(crate) fn bytes_equal(word: u64, b: u8) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let x = word ^ (0x0101_0101_0101_0101 * u64::from(b));
    // A byte of `x` is zero exactly when its top bit stays clear here (no carry between bytes).
    !(((x & LOW7) + LOW7) | x) & !LOW7
}
