//! `strerror`'s texts, pmtr's own copy (issue 18, bytes).
//!
//! The words are musl's (`src/errno/__strerror.h`), the C library every
//! pmtr build links, so what an operator reads is what `strerror` gave
//! before; the numbers are Linux's, the same on every target pmtr builds
//! for. Packed while the crate compiles ([`crate::packed`]), the texts
//! take about half of musl's table; they are unpacked only when an error
//! is written.

use core::fmt;

use rustix::io::Errno;

use core::mem::MaybeUninit;

use crate::packed::{MAX_TEXT, Packed, packed, room};

/// One text per errno number from 0, each ending in NUL; empty where the
/// C library has none (it then gives number 0's).
pub(crate) const ERRNO_TEXTS: &str = concat!(
    "No error information\0",                     // 0
    "Operation not permitted\0",                  // 1 EPERM
    "No such file or directory\0",                // 2 ENOENT
    "No such process\0",                          // 3 ESRCH
    "Interrupted system call\0",                  // 4 EINTR
    "I/O error\0",                                // 5 EIO
    "No such device or address\0",                // 6 ENXIO
    "Argument list too long\0",                   // 7 E2BIG
    "Exec format error\0",                        // 8 ENOEXEC
    "Bad file descriptor\0",                      // 9 EBADF
    "No child process\0",                         // 10 ECHILD
    "Resource temporarily unavailable\0",         // 11 EAGAIN
    "Out of memory\0",                            // 12 ENOMEM
    "Permission denied\0",                        // 13 EACCES
    "Bad address\0",                              // 14 EFAULT
    "Block device required\0",                    // 15 ENOTBLK
    "Resource busy\0",                            // 16 EBUSY
    "File exists\0",                              // 17 EEXIST
    "Cross-device link\0",                        // 18 EXDEV
    "No such device\0",                           // 19 ENODEV
    "Not a directory\0",                          // 20 ENOTDIR
    "Is a directory\0",                           // 21 EISDIR
    "Invalid argument\0",                         // 22 EINVAL
    "Too many open files in system\0",            // 23 ENFILE
    "No file descriptors available\0",            // 24 EMFILE
    "Not a tty\0",                                // 25 ENOTTY
    "Text file busy\0",                           // 26 ETXTBSY
    "File too large\0",                           // 27 EFBIG
    "No space left on device\0",                  // 28 ENOSPC
    "Invalid seek\0",                             // 29 ESPIPE
    "Read-only file system\0",                    // 30 EROFS
    "Too many links\0",                           // 31 EMLINK
    "Broken pipe\0",                              // 32 EPIPE
    "Domain error\0",                             // 33 EDOM
    "Result not representable\0",                 // 34 ERANGE
    "Resource deadlock would occur\0",            // 35 EDEADLK
    "Filename too long\0",                        // 36 ENAMETOOLONG
    "No locks available\0",                       // 37 ENOLCK
    "Function not implemented\0",                 // 38 ENOSYS
    "Directory not empty\0",                      // 39 ENOTEMPTY
    "Symbolic link loop\0",                       // 40 ELOOP
    "\0",                                         // 41
    "No message of desired type\0",               // 42 ENOMSG
    "Identifier removed\0",                       // 43 EIDRM
    "\0",                                         // 44
    "\0",                                         // 45
    "\0",                                         // 46
    "\0",                                         // 47
    "\0",                                         // 48
    "\0",                                         // 49
    "\0",                                         // 50
    "\0",                                         // 51
    "\0",                                         // 52
    "\0",                                         // 53
    "\0",                                         // 54
    "\0",                                         // 55
    "\0",                                         // 56
    "\0",                                         // 57
    "\0",                                         // 58
    "\0",                                         // 59
    "Device not a stream\0",                      // 60 ENOSTR
    "No data available\0",                        // 61 ENODATA
    "Device timeout\0",                           // 62 ETIME
    "Out of streams resources\0",                 // 63 ENOSR
    "\0",                                         // 64
    "\0",                                         // 65
    "\0",                                         // 66
    "Link has been severed\0",                    // 67 ENOLINK
    "\0",                                         // 68
    "\0",                                         // 69
    "\0",                                         // 70
    "Protocol error\0",                           // 71 EPROTO
    "Multihop attempted\0",                       // 72 EMULTIHOP
    "\0",                                         // 73
    "Bad message\0",                              // 74 EBADMSG
    "Value too large for data type\0",            // 75 EOVERFLOW
    "\0",                                         // 76
    "File descriptor in bad state\0",             // 77 EBADFD
    "\0",                                         // 78
    "\0",                                         // 79
    "\0",                                         // 80
    "\0",                                         // 81
    "\0",                                         // 82
    "\0",                                         // 83
    "Illegal byte sequence\0",                    // 84 EILSEQ
    "\0",                                         // 85
    "\0",                                         // 86
    "\0",                                         // 87
    "Not a socket\0",                             // 88 ENOTSOCK
    "Destination address required\0",             // 89 EDESTADDRREQ
    "Message too large\0",                        // 90 EMSGSIZE
    "Protocol wrong type for socket\0",           // 91 EPROTOTYPE
    "Protocol not available\0",                   // 92 ENOPROTOOPT
    "Protocol not supported\0",                   // 93 EPROTONOSUPPORT
    "Socket type not supported\0",                // 94 ESOCKTNOSUPPORT
    "Not supported\0",                            // 95 ENOTSUP
    "Protocol family not supported\0",            // 96 EPFNOSUPPORT
    "Address family not supported by protocol\0", // 97 EAFNOSUPPORT
    "Address in use\0",                           // 98 EADDRINUSE
    "Address not available\0",                    // 99 EADDRNOTAVAIL
    "Network is down\0",                          // 100 ENETDOWN
    "Network unreachable\0",                      // 101 ENETUNREACH
    "Connection reset by network\0",              // 102 ENETRESET
    "Connection aborted\0",                       // 103 ECONNABORTED
    "Connection reset by peer\0",                 // 104 ECONNRESET
    "No buffer space available\0",                // 105 ENOBUFS
    "Socket is connected\0",                      // 106 EISCONN
    "Socket not connected\0",                     // 107 ENOTCONN
    "Cannot send after socket shutdown\0",        // 108 ESHUTDOWN
    "\0",                                         // 109
    "Operation timed out\0",                      // 110 ETIMEDOUT
    "Connection refused\0",                       // 111 ECONNREFUSED
    "Host is down\0",                             // 112 EHOSTDOWN
    "Host is unreachable\0",                      // 113 EHOSTUNREACH
    "Operation already in progress\0",            // 114 EALREADY
    "Operation in progress\0",                    // 115 EINPROGRESS
    "Stale file handle\0",                        // 116 ESTALE
    "\0",                                         // 117
    "\0",                                         // 118
    "\0",                                         // 119
    "\0",                                         // 120
    "Remote I/O error\0",                         // 121 EREMOTEIO
    "Quota exceeded\0",                           // 122 EDQUOT
    "No medium found\0",                          // 123 ENOMEDIUM
    "Wrong medium type\0",                        // 124 EMEDIUMTYPE
    "Operation canceled\0",                       // 125 ECANCELED
    "Required key not available\0",               // 126 ENOKEY
    "Key has expired\0",                          // 127 EKEYEXPIRED
    "Key has been revoked\0",                     // 128 EKEYREVOKED
    "Key was rejected by service\0",              // 129 EKEYREJECTED
    "Previous owner died\0",                      // 130 EOWNERDEAD
    "State not recoverable\0",                    // 131 ENOTRECOVERABLE
);
/// [`ERRNO_TEXTS`], packed (see [`crate::packed`]).
const TEXTS: Packed = packed!(ERRNO_TEXTS);

/// An errno's text, as `strerror` gives it (`No such file or
/// directory`), to format with `{}`.
#[derive(Clone, Copy)]
pub struct Strerror(pub Errno);

impl Strerror {
    /// The text, unpacked into `buf`, whose type says it holds every
    /// text; its bytes need not be set first (issue 18, bytes).
    pub fn text(self, buf: &mut [MaybeUninit<u8>; MAX_TEXT]) -> &str {
        let texts = TEXTS.unpack(buf);
        let text = crate::config::nth_word(texts, self.0.raw_os_error() as usize);
        if text.is_empty() {
            return crate::config::nth_word(texts, 0);
        }
        text
    }
}

impl fmt::Display for Strerror {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not zeroed first (issue 18, bytes).
        f.write_str(self.text(&mut room::<MAX_TEXT>()))
    }
}

impl crate::packed::Show for Strerror {}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(n: i32) -> String {
        Strerror(Errno::from_raw_os_error(n)).to_string()
    }

    #[test]
    fn texts_are_the_c_librarys_words() {
        assert_eq!(text(libc::ENOENT), "No such file or directory");
        assert_eq!(text(libc::EACCES), "Permission denied");
        assert_eq!(text(libc::ENOMEM), "Out of memory");
        assert_eq!(text(libc::ENOTRECOVERABLE), "State not recoverable");
    }

    #[test]
    fn numbers_without_a_text_read_as_number_0() {
        for n in [41, 58, 120, 132, 4095] {
            assert_eq!(text(n), "No error information", "{n}");
        }
    }

    /// On musl (`make unit-i686`), every number reads as the C library's
    /// own `strerror` reads it.
    #[cfg(target_env = "musl")]
    #[test]
    fn every_number_reads_as_musl_reads_it() {
        for n in 1..200 {
            // SAFETY: musl returns a pointer to a static string for every
            // number.
            let c = unsafe { core::ffi::CStr::from_ptr(libc::strerror(n)) };
            assert_eq!(text(n), c.to_str().unwrap(), "{n}");
        }
    }
}
