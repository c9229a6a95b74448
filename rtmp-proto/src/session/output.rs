//! The outgoing byte queue: `Bytes` segments that adapters write with vectored I/O.

use bytes::{Buf, Bytes};
use std::collections::VecDeque;
use std::io::IoSlice;

/// Segments waiting to be written, in order. Payloads are shared, never copied.
#[derive(Debug, Default)]
pub struct OutputQueue {
    segments: VecDeque<Bytes>,
    len: usize,
}

impl OutputQueue {
    /// Total bytes waiting.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends one segment.
    pub fn push(&mut self, segment: Bytes) {
        if !segment.is_empty() {
            self.len += segment.len();
            self.segments.push_back(segment);
        }
    }

    /// Fills `dst` with the first segments; returns how many were filled.
    pub fn io_slices<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let mut filled = 0;
        for (slot, segment) in dst.iter_mut().zip(&self.segments) {
            *slot = IoSlice::new(segment);
            filled += 1;
        }
        filled
    }

    /// The segments, in order.
    pub fn segments(&self) -> impl Iterator<Item = &Bytes> {
        self.segments.iter()
    }

    /// Drops the first `n` bytes (they were written).
    pub fn advance(&mut self, mut n: usize) {
        n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let Some(front) = self.segments.front_mut() else {
                break;
            };
            if n < front.len() {
                front.advance(n);
                break;
            }
            n -= front.len();
            self.segments.pop_front();
        }
    }

    /// Removes and returns everything waiting.
    pub fn take_all(&mut self) -> Vec<Bytes> {
        self.len = 0;
        self.segments.drain(..).collect()
    }
}

impl Extend<Bytes> for OutputQueue {
    fn extend<I: IntoIterator<Item = Bytes>>(&mut self, iter: I) {
        for segment in iter {
            self.push(segment);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_crosses_segment_boundaries() {
        let mut q = OutputQueue::default();
        q.extend([
            Bytes::from_static(b"abc"),
            Bytes::new(),
            Bytes::from_static(b"defg"),
        ]);
        assert_eq!(q.len(), 7);
        q.advance(4);
        assert_eq!(q.len(), 3);
        let mut slices = [IoSlice::new(&[]); 4];
        assert_eq!(q.io_slices(&mut slices), 1);
        assert_eq!(&*slices[0], b"efg");
        q.advance(100);
        assert!(q.is_empty());
    }
}
