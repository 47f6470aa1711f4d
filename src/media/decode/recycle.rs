//! Frame buffers used again once every holder has let go of them.
//!
//! A 1768×994 RGB frame is 5 MB. Allocated fresh for each frame, it was zeroed by the
//! allocator and then faulted in page by page by the kernel: about 4% of a whole run's
//! CPU on the Sports2D clip, spent before swscale wrote a single pixel. The decoder now
//! keeps the frames it handed out and writes into one that nobody holds any more.

use std::sync::Arc;

use crate::image::RgbImage;

/// Most frames kept for reuse. The pipeline bounds the frames in flight (a few per
/// worker), so this is only reached by a holder that keeps every frame (a test); past
/// it, frames are simply allocated.
const MAX_KEPT: usize = 64;

#[derive(Default)]
pub(crate) struct Recycler {
    kept: Vec<Arc<RgbImage>>,
}

impl Recycler {
    /// A frame made by `write`, which overwrites the whole image it is given (sizing it
    /// as it needs): a kept frame nobody else holds, else a new one.
    pub(crate) fn fill<E>(
        &mut self,
        write: impl FnOnce(&mut RgbImage) -> Result<(), E>,
    ) -> Result<Arc<RgbImage>, E> {
        if let Some(i) = self.kept.iter().position(|f| Arc::strong_count(f) == 1) {
            // The only handle left, and no weak ones are ever made: `get_mut` succeeds.
            let free = Arc::get_mut(&mut self.kept[i]).expect("nobody else holds it");
            write(free)?;
            return Ok(Arc::clone(&self.kept[i]));
        }
        let mut fresh = RgbImage::new(0, 0);
        write(&mut fresh)?;
        let fresh = Arc::new(fresh);
        if self.kept.len() < MAX_KEPT {
            self.kept.push(Arc::clone(&fresh));
        }
        Ok(fresh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(recycler: &mut Recycler, value: u8) -> Arc<RgbImage> {
        let write = |img: &mut RgbImage| {
            *img = RgbImage::new(2, 1);
            img.data.fill(value);
            Ok::<(), ()>(())
        };
        recycler.fill(write).unwrap()
    }

    #[test]
    fn a_frame_is_reused_only_once_nobody_else_holds_it() {
        let mut recycler = Recycler::default();
        let first = frame(&mut recycler, 1);
        let first_ptr = Arc::as_ptr(&first);
        let second = frame(&mut recycler, 2);
        assert_ne!(Arc::as_ptr(&second), first_ptr, "first is still held");
        assert_eq!(first.data, [1; 6], "and untouched");
        drop(first);
        let third = frame(&mut recycler, 3);
        assert_eq!(
            Arc::as_ptr(&third),
            first_ptr,
            "first was let go, so it is reused"
        );
        assert_eq!(
            (third.data.as_slice(), second.data.as_slice()),
            (&[3; 6][..], &[2; 6][..])
        );
    }

    #[test]
    fn a_failed_write_hands_nothing_out() {
        let mut recycler = Recycler::default();
        assert!(recycler.fill(|_| Err("no")).is_err());
        assert!(recycler.kept.is_empty());
    }

    #[test]
    fn frames_kept_forever_stop_being_tracked() {
        let mut recycler = Recycler::default();
        let held: Vec<_> = (0..MAX_KEPT + 5)
            .map(|i| frame(&mut recycler, i as u8))
            .collect();
        assert_eq!(recycler.kept.len(), MAX_KEPT);
        drop(held);
        assert!(recycler.kept.iter().all(|f| Arc::strong_count(f) == 1));
    }
}
