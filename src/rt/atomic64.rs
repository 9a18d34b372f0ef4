//! 64-bit atomics for the armv6 size-optimised build, which is Thumb-1
//! code (`cross/armv6-thumb.json`, issue 18: 29% smaller than ARM code).
//!
//! Thumb-1 has no exclusive loads and stores, so LLVM turns an atomic
//! operation into a call to a `__sync_*` helper. Rust's compiler-builtins
//! provides the 8-, 16- and 32-bit ones for this CPU (in ARM code); the two
//! 64-bit ones pmtr's `AtomicU64` statics need are here, over the kernel's
//! `__kuser_cmpxchg64` helper (ARM Linux since 3.1; on every Raspberry Pi
//! kernel, and emulated by qemu-user). pmtr is single-threaded, so these
//! never spin in practice.
//!
//! # Safety
//!
//! The kernel maps its helper page at 0xffff0000 in every ARM process;
//! `__kuser_cmpxchg64(oldval, newval, ptr)` stores `*newval` into `*ptr`
//! atomically if `*ptr == *oldval` and returns 0, else returns non-zero.
//! Callers (code LLVM emits for atomics) pass a valid, aligned pointer.
//!
//! # References
//!  - [Linux: kernel_user_helpers](https://www.kernel.org/doc/Documentation/arm/kernel_user_helpers.txt)

#![allow(unsafe_code)]

type Cmpxchg64 = unsafe extern "C" fn(*const u64, *const u64, *mut u64) -> i32;

/// `__kuser_cmpxchg64`, an ARM function in the kernel's helper page.
fn kuser_cmpxchg64() -> Cmpxchg64 {
    // SAFETY: see the module's note: the address holds that function.
    unsafe { core::mem::transmute::<usize, Cmpxchg64>(0xffff_0f60) }
}

/// `__sync_val_compare_and_swap_8`: stores `new` if `*ptr == old`; returns
/// the value `*ptr` had.
///
/// # Safety
///
/// `ptr` must be valid and 8-byte aligned.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __sync_val_compare_and_swap_8(ptr: *mut u64, old: u64, new: u64) -> u64 {
    loop {
        // SAFETY: the caller passes a valid pointer.
        let current = unsafe { core::ptr::read_volatile(ptr) };
        if current != old {
            return current;
        }
        // SAFETY: as above, and the helper is there (module note).
        if unsafe { kuser_cmpxchg64()(&current, &new, ptr) } == 0 {
            return current;
        }
    }
}

/// `__sync_lock_test_and_set_8`: stores `new`; returns the old value.
///
/// # Safety
///
/// `ptr` must be valid and 8-byte aligned.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __sync_lock_test_and_set_8(ptr: *mut u64, new: u64) -> u64 {
    loop {
        // SAFETY: the caller passes a valid pointer.
        let current = unsafe { core::ptr::read_volatile(ptr) };
        // SAFETY: as above, and the helper is there (module note).
        if unsafe { kuser_cmpxchg64()(&current, &new, ptr) } == 0 {
            return current;
        }
    }
}
