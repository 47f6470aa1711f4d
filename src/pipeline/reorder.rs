//! Releases results in frame order however the workers finish them.
//!
//! Its size is bounded by how far workers can run ahead, which the decoder's bounded
//! queues limit; it never grows with the length of the video.

use std::collections::BTreeMap;

/// Holds items that arrived early until every earlier index has arrived.
#[derive(Debug)]
pub struct Reorder<T> {
    next: u64,
    waiting: BTreeMap<u64, T>,
}

impl<T> Default for Reorder<T> {
    fn default() -> Self {
        Reorder {
            next: 0,
            waiting: BTreeMap::new(),
        }
    }
}

impl<T> Reorder<T> {
    /// Accepts item `index` and returns every item now releasable, in order.
    pub fn push(&mut self, index: u64, item: T) -> Vec<(u64, T)> {
        self.waiting.insert(index, item);
        let mut ready = Vec::new();
        while let Some(item) = self.waiting.remove(&self.next) {
            ready.push((self.next, item));
            self.next += 1;
        }
        ready
    }

    /// Items held back because an earlier index is missing.
    #[cfg(test)]
    pub fn pending(&self) -> usize {
        self.waiting.len()
    }

    /// What is left at the end (after an interruption, indices may have gaps), in order.
    pub fn drain(&mut self) -> Vec<(u64, T)> {
        std::mem::take(&mut self.waiting).into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_passes_straight_through() {
        let mut r = Reorder::default();
        assert_eq!(r.push(0, 'a'), vec![(0, 'a')]);
        assert_eq!(r.push(1, 'b'), vec![(1, 'b')]);
        assert_eq!(r.pending(), 0);
    }

    #[test]
    fn early_items_wait_for_the_gap() {
        let mut r = Reorder::default();
        assert!(r.push(2, 'c').is_empty());
        assert!(r.push(1, 'b').is_empty());
        assert_eq!(r.pending(), 2);
        assert_eq!(r.push(0, 'a'), vec![(0, 'a'), (1, 'b'), (2, 'c')]);
        assert_eq!(r.pending(), 0);
    }

    #[test]
    fn drain_returns_leftovers_in_order() {
        let mut r = Reorder::default();
        r.push(5, 'f');
        r.push(3, 'd');
        assert_eq!(r.drain(), vec![(3, 'd'), (5, 'f')]);
        assert_eq!(r.pending(), 0);
    }
}
