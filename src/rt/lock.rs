//! A lock for the one global pmtr keeps (the syslog writer), where std's
//! `Mutex` was: pmtr itself is single-threaded, so the lock is never
//! contended in the daemon; unit tests log from several threads at once.
//! And [`Slot`], the `Option` that global is kept in.
//!
//! # Safety
//!
//! The flag is taken with acquire ordering and released with release
//! ordering, so at most one [`Guard`] exists at a time and what one holder
//! wrote is seen by the next: the guard's `&mut T` is exclusive.
//!
//! A [`Slot`]'s value is initialised exactly when its `set` flag is true:
//! only [`Slot::insert`] sets the flag, after writing the value.

#![allow(unsafe_code)]

use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, Ordering};

pub struct Lock<T> {
    held: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: access to `value` goes through `lock`, which hands out one guard
// at a time (see the module's safety note).
unsafe impl<T: Send> Sync for Lock<T> {}

impl<T> Lock<T> {
    pub const fn new(value: T) -> Lock<T> {
        Lock {
            held: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Waits for the lock (only ever contended between test threads).
    pub fn lock(&self) -> Guard<'_, T> {
        while self
            .held
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            core::hint::spin_loop();
        }
        Guard { lock: self }
    }
}

pub struct Guard<'a, T> {
    lock: &'a Lock<T>,
}

impl<T> Deref for Guard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard is the only one (see the module's note).
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for Guard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this borrow unique.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for Guard<'_, T> {
    fn drop(&mut self) {
        self.lock.held.store(false, Ordering::Release);
    }
}

/// An `Option<T>` whose empty state is all zero bytes, so that a static
/// holding one is in .bss, not in the file. `Option<Writer>`'s `None` is
/// not (its tag is a niche in a field), which put the syslog writer's
/// 1272 to 1328 bytes in .data (issue 18).
pub struct Slot<T> {
    set: bool,
    value: MaybeUninit<T>,
}

impl<T> Slot<T> {
    pub const EMPTY: Slot<T> = Slot {
        set: false,
        value: MaybeUninit::uninit(),
    };

    pub fn as_ref(&self) -> Option<&T> {
        // SAFETY: `set` means the value is initialised (module note).
        self.set.then(|| unsafe { self.value.assume_init_ref() })
    }

    pub fn as_mut(&mut self) -> Option<&mut T> {
        // SAFETY: as in `as_ref`.
        self.set.then(|| unsafe { self.value.assume_init_mut() })
    }

    /// Puts `value` in, dropping the one there was.
    pub fn insert(&mut self, value: T) -> &mut T {
        if self.set {
            self.set = false;
            // SAFETY: `set` was true, so the value is initialised; the flag
            // is cleared first, so a panic in drop leaves no double drop.
            unsafe { self.value.assume_init_drop() };
        }
        let value = self.value.write(value);
        self.set = true;
        value
    }
}

impl<T> Drop for Slot<T> {
    fn drop(&mut self) {
        if self.set {
            // SAFETY: `set` means the value is initialised.
            unsafe { self.value.assume_init_drop() };
        }
    }
}
