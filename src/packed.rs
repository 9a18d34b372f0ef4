//! Long texts packed when pmtr is compiled and unpacked when they are
//! shown (issue 18, bytes): the config error templates, `pmtr -h` and
//! `pmtr VERB -h`, the metrics families' names and help, the C library's
//! error texts. They are read rarely (an error, a help request, a metrics
//! page at most once a second) and make about 9 KB of text, which this
//! cuts to about 4.
//!
//! pmtr's own log messages, and the "can't happen" texts of a job's state
//! machine, are packed one by one where they are written ([`msg!`]): in
//! the same code, without copies across messages, so that each unpacks
//! alone, in a buffer of [`MAX_MSG`] bytes on the stack. A message's
//! `{}` marks its values, which [`Filled`] writes in order through their
//! `Display` (issue 18: 3 KB of text; the armv6 build is 0.8 KB smaller),
//! a number through [`crate::logger::itoa`] ([`Show`]).
//!
//! The texts stay where they are written, as string literals beside the
//! code that uses them; [`packed!`] packs one with a `const fn` while the
//! crate compiles, so what reads the source reads the text, and the
//! binary holds only the packed bits.
//!
//! The form is LZ77 with one Huffman code, as in deflate:
//! - a text is a row of literals (one ASCII byte) and copies (3 to 66
//!   bytes from 1 to 1024 bytes back);
//! - each literal and each copy's length is a symbol: the byte itself
//!   below 0x80, 0x80 and up for a copy of 3 bytes and up; a symbol is
//!   written in its code, and a copy's distance less one follows in ten
//!   bits;
//! - the code is one canonical Huffman code for every packed text
//!   ([`ALL`]), built while the crate compiles from how often each
//!   symbol occurs in them. The binary carries it as [`TABLE`]: for each
//!   code length the largest 16-bit window that starts with a code that
//!   long or shorter ([`STEPS`]), and the symbols in the order of their
//!   codes ([`ORDER`]), about 160 bytes. A symbol is read in a few
//!   comparisons of a window, not bit by bit.
//!
//! Bits fill each byte from its high bit down.
//!
//! [`encode`] chooses the literals and copies with the fewest bits in all
//! (a shortest path over the text, not the first long match), given the
//! longest match at each position (found through hash chains; see
//! [`MAX_TRIES`]). The code prices that path, so it is built in three
//! rounds: [`FIRST`] from paths that count a literal as a byte and a
//! copy as two, [`PRICES`] from the paths [`FIRST`] prices, then
//! [`CODE`] from the paths [`PRICES`] prices, which are the paths
//! [`encode`] writes. A text with a byte of 0x80 or above (not
//! ASCII), a control byte none of [`ALL`] has, or longer than
//! [`LONGEST_TEXT`] does not compile. A text that is not one of [`ALL`]
//! (a message, `control`'s replies) packs too, a little less tightly:
//! every printable byte has a code, but a copy only of a length [`ALL`]'s
//! texts use.

use core::mem::MaybeUninit;

/// The fewest bytes a copy replaces.
const MIN_COPY: usize = 3;
/// The most: 64 lengths.
const MAX_COPY: usize = MIN_COPY + 63;
/// The farthest back a copy reaches.
const WINDOW: usize = 1024;
/// The bits of a copy's distance: [`WINDOW`] is 2 to this power.
const DISTANCE_BITS: u32 = 10;
/// The longest text [`encode`] takes.
const LONGEST_TEXT: usize = 8192;
/// The buffer most packed texts are unpacked into: the longer config
/// error text ([`crate::config::ERROR_TEXTS`]) has its own.
pub const MAX_TEXT: usize = 4096;
/// Literals 0 to 0x7f, then a copy of each length from [`MIN_COPY`].
const SYMBOLS: usize = 0x80 + MAX_COPY - MIN_COPY + 1;
/// The longest code [`Code::build_all`] makes. A Huffman code `d` bits deep
/// needs at least the `d + 2`nd Fibonacci number of symbols in all, and
/// the texts of [`ALL`] have at most 4 × [`LONGEST_TEXT`] (32768; with
/// the 95 printable bytes' counts of 1, still under the 24th, 46368): no
/// code is longer than 22 bits.
const MAX_BITS: usize = 22;

/// The packed texts the code is built from; other texts pack in it too
/// (see the module's header).
const ALL: [&str; 4] = [
    crate::cli::USAGE_TEXTS,
    crate::config::ERROR_TEXTS,
    crate::supervisor::METRIC_FAMILY_TEXTS,
    crate::sys::ERRNO_TEXTS,
];

// The texts but the config errors' are unpacked into [`MAX_TEXT`] bytes.
const _: () =
    assert!(ALL[0].len() <= MAX_TEXT && ALL[2].len() <= MAX_TEXT && ALL[3].len() <= MAX_TEXT);

/// A prefix code over the symbols: each one's length in bits, 0 for a
/// symbol that has none. The codes themselves are canonical: by length,
/// then by symbol ([`Code::codes`]).
pub struct Code {
    lens: [u8; SYMBOLS],
}

/// The code that prices the paths [`PRICES`] is built from.
const FIRST: Code = Code::build_all(None);
/// The code that prices the paths [`CODE`] is built from.
const PRICES: Code = Code::build_all(Some(&FIRST));
/// The code the texts are written in.
const CODE: Code = Code::build_all(Some(&PRICES));
/// The length of [`CODE`]'s shortest code.
const SHORTEST: usize = CODE.shortest();
/// [`Table::steps`] of [`CODE`].
static STEPS: [(u16, u16); CODE.longest() - SHORTEST + 1] = CODE.steps(SHORTEST);
/// The symbols that have a code, in the order of their codes.
static ORDER: [u8; CODE.used()] = CODE.order();
/// All [`Packed::unpack`] needs of [`CODE`].
static TABLE: Table<'static> = Table {
    shortest: SHORTEST,
    steps: &STEPS,
    order: &ORDER,
};

// A symbol is read from a window of 16 bits ([`Bits::peek`]).
const _: () = assert!(CODE.longest() <= PEEK as usize && DISTANCE_BITS <= PEEK);

/// A text packed by [`packed!`]: its bits, and its length unpacked.
pub struct Packed {
    bytes: &'static [u8],
    len: usize,
}

impl Packed {
    /// Wraps `bytes` made by [`encode`] from a text of `len` bytes (which
    /// [`encode`] has checked is at most [`LONGEST_TEXT`]); use [`packed!`].
    pub const fn new(bytes: &'static [u8], len: usize) -> Packed {
        Packed { bytes, len }
    }

    /// The length of the text unpacked: what a buffer for it holds.
    pub const fn unpacked_len(&self) -> usize {
        self.len
    }

    /// The text, unpacked into `buf`, which must hold it
    /// ([`Packed::unpacked_len`]).
    #[inline]
    pub fn unpack<'b, B: Room>(&self, buf: &'b mut B) -> &'b str {
        unpack(self.bytes, self.len, &TABLE, buf.room(), usize::MAX)
    }

    /// Word `i` of the text (words ended by a NUL; past the last, ""),
    /// unpacked into `buf` only as far as it: a list of texts read by
    /// place (`control`'s replies, a job's start steps).
    pub fn word<'b, B: Room>(&self, buf: &'b mut B, i: usize) -> &'b str {
        crate::config::nth_word(self.unpack_words(buf, i + 1), i)
    }

    /// The text's first `words` words (each ended by a NUL), or a little
    /// more, unpacked into `buf`: a text read for one word near its start
    /// need not be unpacked to its end.
    #[inline]
    pub fn unpack_words<'b, B: Room>(&self, buf: &'b mut B, words: usize) -> &'b str {
        unpack(self.bytes, self.len, &TABLE, buf.room(), words)
    }
}

/// A buffer a text is unpacked into: bytes, or bytes not set yet, which
/// need no zeroing first (issue 18, bytes: a `rep stos` at each buffer).
pub trait Room {
    /// The buffer as [`unpack`] writes it.
    fn room(&mut self) -> &mut [MaybeUninit<u8>];
}

impl<const N: usize> Room for [MaybeUninit<u8>; N] {
    #[inline]
    fn room(&mut self) -> &mut [MaybeUninit<u8>] {
        self
    }
}

impl<const N: usize> Room for [u8; N] {
    #[inline]
    fn room(&mut self) -> &mut [MaybeUninit<u8>] {
        // SAFETY: `u8` and `MaybeUninit<u8>` have one layout, and
        // [`unpack`], the one writer, writes only initialised bytes, so
        // the bytes stay initialised.
        #[allow(unsafe_code)]
        unsafe {
            &mut *(self as *mut [u8] as *mut [MaybeUninit<u8>])
        }
    }
}

/// An unset buffer of `N` bytes to unpack into.
pub const fn room<const N: usize>() -> [MaybeUninit<u8>; N] {
    [MaybeUninit::uninit(); N]
}

/// The `len` bytes of text packed into `bytes` in the code of `table`
/// ([`TABLE`]), unpacked into `buf`; or once `words` NULs have been
/// written, those and what the last copy brought.
fn unpack<'b>(
    bytes: &[u8],
    len: usize,
    table: &Table,
    buf: &'b mut [MaybeUninit<u8>],
    words: usize,
) -> &'b str {
    let mut bits = Bits { bytes, at: 0 };
    let mut n = 0;
    let mut nuls = 0;
    while n < len && nuls < words {
        let symbol = bits.symbol(table);
        if symbol < 0x80 {
            buf[n] = MaybeUninit::new(symbol as u8);
            nuls += usize::from(symbol == 0);
            n += 1;
            continue;
        }
        let back = bits.take(DISTANCE_BITS) + 1;
        // Byte by byte: a copy may overlap what it writes (`abababab` is
        // `ab` and a copy of 6 from 2 back).
        for _ in 0..symbol - 0x80 + MIN_COPY {
            let byte = buf[n - back];
            buf[n] = byte;
            // SAFETY: `back` is at least 1, so `n - back` is a place below
            // `n`, every one of which was written (or the index is out of
            // bounds, and panics).
            #[allow(unsafe_code)]
            let nul = unsafe { byte.assume_init() } == 0;
            nuls += usize::from(nul);
            n += 1;
        }
    }
    let text = &buf[..n];
    // SAFETY: every byte of `buf[..n]` was written above, each a symbol
    // below 0x80 or a copy of one written before it: initialised, and
    // ASCII, whatever `bytes` holds, so valid UTF-8 (not checked again:
    // issue 18, bytes).
    #[allow(unsafe_code)]
    unsafe {
        core::str::from_utf8_unchecked(crate::written(text))
    }
}

/// What reading a symbol needs of a code ([`Code::steps`], [`Code::order`]).
struct Table<'a> {
    /// The length of the shortest code.
    shortest: usize,
    /// For each length from `shortest` to the longest code's: the
    /// largest window ([`Bits::peek`]) that starts with a code of that
    /// length or shorter, and what, added to a code of that length, gives
    /// its symbol's place in `order`. The codes of one length are
    /// consecutive and come before the longer ones' (canonical), so a
    /// window's code is as long as the first length whose largest window
    /// it does not exceed.
    steps: &'a [(u16, u16)],
    /// The symbols that have a code, in the order of their codes.
    order: &'a [u8],
}

/// The bits [`Bits::peek`] shows.
const PEEK: u32 = 16;

/// A reader of a packed text's bits.
struct Bits<'a> {
    bytes: &'a [u8],
    /// The next bit, counted from the first byte's high bit.
    at: usize,
}

impl Bits<'_> {
    /// The next [`PEEK`] bits, not read yet; past the end, 0s. Out of
    /// line: a symbol and a distance read it (issue 18, bytes: −32 on
    /// armv7, for a tenth more time).
    #[inline(never)]
    fn peek(&self) -> u32 {
        let i = self.at / 8;
        let byte = |k| u32::from(self.bytes.get(i + k).copied().unwrap_or(0));
        // 24 bits from the byte that holds the next one, which has at most
        // 7 read bits before it.
        (byte(0) << 16 | byte(1) << 8 | byte(2)) << (self.at % 8) >> 8 & 0xffff
    }

    /// The next `n` bits (at most [`PEEK`]), high bit first.
    fn take(&mut self, n: u32) -> usize {
        let value = self.peek() >> (PEEK - n);
        self.at += n as usize;
        value as usize
    }

    /// The next symbol of the code of `table`: its length found from the
    /// window in a few comparisons, not bit by bit (issue 18: an error
    /// message unpacked 4 times as slowly bit by bit).
    fn symbol(&mut self, table: &Table) -> usize {
        let window = self.peek();
        let last = table.steps.len() - 1;
        let mut i = 0;
        while i < last && window > u32::from(table.steps[i].0) {
            i += 1;
        }
        let len = table.shortest + i;
        self.at += len;
        let code = (window >> (PEEK as usize - len)) as u16;
        // Past the last code (not a code: [`encode`] writes none such),
        // a NUL keeps the text ASCII.
        let place = usize::from(table.steps[i].1.wrapping_add(code));
        table.order.get(place).map_or(0, |&s| usize::from(s))
    }
}

/// A [`Packed`] text from a constant string expression, packed while the
/// crate compiles; best one of [`ALL`].
macro_rules! packed {
    ($text:expr) => {{
        const TEXT: &str = $text;
        const ENCODED: $crate::packed::Encoded = $crate::packed::encode(TEXT);
        const BYTES: [u8; ENCODED.1] = $crate::packed::prefix(&ENCODED);
        $crate::packed::Packed::new(&BYTES, TEXT.len())
    }};
}
pub(crate) use packed;

/// The longest log message [`msg!`] packs, its NUL included: also the
/// buffer [`unpack_msg`] unpacks into.
pub const MAX_MSG: usize = 160;
/// What a `{}` of a message's text becomes: where its next value goes.
pub const MARK: u8 = b'%';

/// A log message's text packed where it is written, while the crate
/// compiles (issue 18, bytes): `{}` marks its values in order (no
/// names, no format specs). The first byte is `$first` as it is (the
/// message's severity), the others stand for the text and a NUL in
/// [`CODE`] (no copies cross messages: each unpacks alone). The text
/// must use no `%`, `{` or `}` but `{}`.
macro_rules! msg {
    ($first:expr, $text:literal) => {{
        const ENCODED: $crate::packed::Encoded = $crate::packed::encode_msg($first, $text);
        const BYTES: [u8; ENCODED.1] = $crate::packed::prefix(&ENCODED);
        let bytes: &'static [u8] = &BYTES;
        bytes
    }};
}
pub(crate) use msg;

/// A text packed by [`msg!`] with its values: a [`Filled`], to be
/// written by its `Display` (a `Display` impl's or an error's text,
/// packed where it is written). The number of values must be the
/// number of `{}`, checked while the crate compiles.
macro_rules! fill {
    // Not a block: the values' temporaries live as long as the
    // statement that writes the text.
    ($text:literal $(, $arg:expr)* $(,)?) => {
        $crate::packed::Filled {
            msg: {
                $crate::packed::check_marks!($text $(, $arg)*);
                $crate::packed::msg!(0, $text)
            },
            args: &[$($crate::packed::Arg::new(&$arg)),*],
        }
    };
}
pub(crate) use fill;

/// Fails to compile unless `$text` has one `{}` for each value: the
/// check of [`fill!`] and of `syslog`'s log macros.
macro_rules! check_marks {
    ($text:literal $(, $arg:expr)*) => {
        const _: () = assert!(
            $crate::packed::marks($text) == <[&str]>::len(&[$(stringify!($arg)),*]),
            "a packed text's `{{}}` and its values differ in number"
        );
    };
}
pub(crate) use check_marks;

/// The `{}` of a message's text, for its caller's count of values.
pub const fn marks(text: &str) -> usize {
    let t = text.as_bytes();
    let mut n = 0;
    let mut i = 0;
    while i + 1 < t.len() {
        n += (t[i] == b'{' && t[i + 1] == b'}') as usize;
        i += 1;
    }
    n
}

/// `text` as [`msg!`] packs it after `first`: each `{}` one [`MARK`],
/// then a NUL.
pub const fn encode_msg(first: u8, text: &str) -> Encoded {
    let t = text.as_bytes();
    let mut buf = [0u8; MAX_MSG];
    let mut n = 0;
    let mut i = 0;
    while i < t.len() {
        let b = t[i];
        assert!(b != MARK && b != b'}', "msg!: a `%` or `}}` in a message");
        if b == b'{' {
            assert!(
                i + 1 < t.len() && t[i + 1] == b'}',
                "msg!: only `{{}}` marks a value"
            );
            buf[n] = MARK;
            i += 1;
        } else {
            buf[n] = b;
        }
        n += 1;
        i += 1;
        assert!(n < MAX_MSG, "msg!: a message longer than packed::MAX_MSG");
    }
    let (packed, len) = encode_in(buf.split_at(n + 1).0, Some(&PRICES), &CODE);
    let mut out = [0u8; LONGEST_TEXT];
    out[0] = first;
    let mut i = 0;
    while i < len {
        out[i + 1] = packed[i];
        i += 1;
    }
    (out, len + 1)
}

/// A message packed by [`msg!`], unpacked into `buf`, its NUL left out.
pub fn unpack_msg<'b>(msg: &[u8], buf: &'b mut [MaybeUninit<u8>; MAX_MSG]) -> &'b str {
    let text = unpack(msg.get(1..).unwrap_or(&[]), MAX_MSG, &TABLE, buf, 1);
    text.get(..text.len().saturating_sub(1)).unwrap_or("")
}

/// A value of a message ([`msg!`]): a reference and how its type writes
/// it ([`Show::FMT`], its `Display::fmt` but for numbers), as
/// `format_args!` holds one, not a `&dyn Display` (whose vtables,
/// one per type, cost more bytes than the calls; issue 18).
pub struct Arg<'a> {
    value: &'a Opaque,
    fmt: fn(&Opaque, &mut core::fmt::Formatter<'_>) -> core::fmt::Result,
}

/// What an [`Arg`]'s reference points to, its type forgotten.
pub struct Opaque(());

impl<'a> Arg<'a> {
    /// `value` to be written by its [`Show::FMT`].
    #[allow(unsafe_code)]
    pub fn new<T: Show>(value: &'a T) -> Arg<'a> {
        // SAFETY: `T` is sized, so `&T` and `&Opaque` are both one
        // pointer and ABI-compatible; `fmt` is only ever called with this
        // `value` (in `Filled::fmt`), so `T::FMT` receives a `&T` that
        // lives for 'a. `format_args!`'s `Argument` is made the same way.
        unsafe {
            Arg {
                value: &*(value as *const T).cast::<Opaque>(),
                fmt: core::mem::transmute::<Fmt<T>, Fmt<Opaque>>(T::FMT),
            }
        }
    }
}

/// A type's way of writing itself into a [`core::fmt::Formatter`].
type Fmt<T> = fn(&T, &mut core::fmt::Formatter<'_>) -> core::fmt::Result;

/// A type that can be a value of a message ([`Arg`]): written by its
/// `Display`, but an integer by [`crate::logger::itoa`], so core's integer
/// formatting (its padding, signs and digit pairs, about 600 bytes on
/// x86_64) need not be in pmtr (issue 18, bytes). No message pads or
/// signs a number, so the text is the same.
pub trait Show: core::fmt::Display {
    /// How [`Filled`] writes the value.
    const FMT: Fmt<Self> = <Self as core::fmt::Display>::fmt;
}

/// `value` written as a message writes it ([`Show::FMT`]): for a
/// `Display` impl that writes a number into its formatter.
pub fn show<T: Show + ?Sized>(value: &T, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
    T::FMT(value, f)
}

/// A number in a `format!` or `write!`, written by [`Show`], not by
/// core's integer formatting.
pub struct Int<T>(pub T);

impl<T: Show> core::fmt::Display for Int<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        T::FMT(&self.0, f)
    }
}

/// Text in a `format!` or `write!`, written as it is ([`Show`] for
/// `str`), not by core's `Display` for `str`, which pads it to a width
/// no message asks for (issue 18, bytes).
pub struct Str<'a>(pub &'a str);

impl core::fmt::Display for Str<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write_text(f, self.0)
    }
}

/// What `format!` makes, written into a `String` that grows as it
/// goes, not one sized first by core's guess from the format's pieces
/// (`alloc::fmt::format`, 259 bytes on x86_64; issue 18, bytes). For
/// the few texts pmtr keeps or sends, none on the respawn path; its
/// capacity may be up to twice its length (a `shrink_to_fit` was 24
/// bytes more code).
#[inline(never)]
pub fn text(args: core::fmt::Arguments<'_>) -> alloc::string::String {
    let mut s = alloc::string::String::new();
    append(&mut s, args);
    s
}

/// What `write!(s, ..)` appends to `s`, through [`Grow`]: every
/// formatting into a `String` in pmtr goes through here, so that core's
/// `fmt::Write` for `String` is never made into a `dyn Write`, and its
/// `write_char` (a `String::push` with the char's encoding inlined, 216
/// bytes on x86_64) is left out of the binary (issue 18, bytes).
#[inline(never)]
pub fn append(s: &mut alloc::string::String, args: core::fmt::Arguments<'_>) {
    // Writing into a `String` does not fail.
    let _ = core::fmt::write(&mut Grow(s), args);
}

/// A `String` as a `fmt::Write` with only `write_str` of its own: a char
/// goes through the trait's `write_char`, which encodes it and calls
/// `write_str` (see [`append`]).
struct Grow<'a>(&'a mut alloc::string::String);

impl core::fmt::Write for Grow<'_> {
    fn write_str(&mut self, text: &str) -> core::fmt::Result {
        self.0.push_str(text);
        Ok(())
    }
}

/// `s` as it is.
#[inline(always)]
fn write_text(f: &mut core::fmt::Formatter<'_>, s: &str) -> core::fmt::Result {
    // What core's `Display` for `str` would honour and this does not:
    // checked in the debug builds the tests run, so a padded or cut text
    // fails there.
    debug_assert!(
        f.width().is_none() && f.precision().is_none(),
        "packed::Str writes text without width or precision"
    );
    f.write_str(s)
}

/// `n` in decimal, with a `-` if `negative`.
pub fn write_int(f: &mut core::fmt::Formatter<'_>, negative: bool, n: u64) -> core::fmt::Result {
    // What core's formatting would honour and this does not: checked in
    // the debug builds the tests run, so a padded number fails there.
    debug_assert!(
        f.width().is_none() && !f.sign_plus() && !f.sign_aware_zero_pad(),
        "packed::Show writes a number without width or sign flags"
    );
    if negative {
        f.write_str("-")?;
    }
    f.write_str(&crate::logger::itoa(n))
}

macro_rules! show_unsigned {
    ($($t:ty),*) => {$(
        impl Show for $t {
            const FMT: Fmt<Self> = |n, f| write_int(f, false, *n as u64);
        }
    )*};
}
show_unsigned!(u8, u16, u32, u64, usize);

macro_rules! show_signed {
    ($($t:ty),*) => {$(
        impl Show for $t {
            const FMT: Fmt<Self> = |n, f| write_int(f, *n < 0, n.unsigned_abs() as u64);
        }
    )*};
}
show_signed!(i32, i64);

impl Show for core::num::NonZero<i32> {
    const FMT: Fmt<Self> = |n, f| i32::FMT(&n.get(), f);
}

// Text is written as it is, not through core's `Display` for `str`,
// which pads to a width: no message asks for one, and without any such
// `Display` in pmtr `Formatter::pad` (392 bytes on x86_64) is left out
// (issue 18, bytes). See [`Str`] for a `format!` or `write!`.
impl Show for str {
    const FMT: Fmt<Self> = |s, f| write_text(f, s);
}
impl Show for char {
    const FMT: Fmt<Self> = |c, f| core::fmt::Write::write_char(f, *c);
}
impl Show for alloc::string::String {
    const FMT: Fmt<Self> = |s, f| write_text(f, s);
}
impl Show for alloc::boxed::Box<str> {
    const FMT: Fmt<Self> = |s, f| write_text(f, s);
}
impl<const N: usize> Show for heapless::String<N> {
    const FMT: Fmt<Self> = |s, f| write_text(f, s);
}
impl<T: Show + ?Sized> Show for &T {
    const FMT: Fmt<Self> = |v, f| T::FMT(v, f);
}

/// A message packed by [`msg!`] with its values, written as text.
pub struct Filled<'a> {
    pub msg: &'static [u8],
    pub args: &'a [Arg<'a>],
}

impl Filled<'static> {
    /// `msg`, which marks no value.
    pub const fn text(msg: &'static [u8]) -> Self {
        Filled { msg, args: &[] }
    }
}

impl core::fmt::Display for Filled<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Not zeroed first (issue 18, bytes).
        let mut buf = room();
        let mut rest = unpack_msg(self.msg, &mut buf);
        let mut args = self.args.iter();
        while let Some((text, after)) = crate::split_once(rest, MARK) {
            f.write_str(text)?;
            if let Some(arg) = args.next() {
                (arg.fmt)(arg.value, f)?;
            }
            rest = after;
        }
        f.write_str(rest)
    }
}

impl crate::packed::Show for Filled<'_> {}

/// What [`encode`] makes of a text: room for the packed bytes, and how
/// many there are. A constant of this type is evaluated once; [`packed!`]
/// then sizes the packed array from it and copies the bytes out.
pub type Encoded = ([u8; LONGEST_TEXT], usize);

/// The first `N` bytes of `encoded`: the packed text, when `N` is its
/// length.
pub const fn prefix<const N: usize>(encoded: &Encoded) -> [u8; N] {
    assert!(N == encoded.1, "prefix::<N>: N is not the packed length");
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = encoded.0[i];
        i += 1;
    }
    out
}

impl Code {
    /// The Huffman code of the symbols of `texts`' paths, priced by
    /// `price` ([`path`]).
    #[cfg(test)]
    const fn build(texts: &[&str], price: Option<&Code>) -> Code {
        Code {
            lens: lengths(&Self::counts_of(texts, price)),
        }
    }

    /// The Huffman code of the symbols of [`ALL`]'s paths, priced by
    /// `price` ([`path`]), with a code for every printable byte however
    /// rare: a log message ([`msg!`]) is packed in this code without
    /// being one of [`ALL`].
    const fn build_all(price: Option<&Code>) -> Code {
        let mut freq = Self::counts_of(&ALL, price);
        let mut b = b' ' as usize;
        while b < 0x7f {
            if freq[b] == 0 {
                freq[b] = 1;
            }
            b += 1;
        }
        Code {
            lens: lengths(&freq),
        }
    }

    /// How often each symbol occurs on `texts`' paths priced by `price`.
    const fn counts_of(texts: &[&str], price: Option<&Code>) -> [u32; SYMBOLS] {
        let mut freq = [0u32; SYMBOLS];
        let mut t = 0;
        while t < texts.len() {
            let text = texts[t].as_bytes();
            let path = path(text, price);
            let mut i = 0;
            while i < text.len() {
                let (symbol, len) = path.symbol(text, i);
                freq[symbol] += 1;
                i += len;
            }
            t += 1;
        }
        freq
    }

    /// The longest code's length.
    const fn longest(&self) -> usize {
        let mut longest = 0;
        let mut s = 0;
        while s < SYMBOLS {
            if self.lens[s] as usize > longest {
                longest = self.lens[s] as usize;
            }
            s += 1;
        }
        longest
    }

    /// The shortest code's length.
    const fn shortest(&self) -> usize {
        let mut shortest = MAX_BITS;
        let mut s = 0;
        while s < SYMBOLS {
            if self.lens[s] > 0 && (self.lens[s] as usize) < shortest {
                shortest = self.lens[s] as usize;
            }
            s += 1;
        }
        shortest
    }

    /// [`Table::steps`] for the lengths from `shortest` on, `N` of them
    /// (at most up to the longest code's, itself at most [`PEEK`]).
    const fn steps<const N: usize>(&self, shortest: usize) -> [(u16, u16); N] {
        let counts: [u8; MAX_BITS] = self.counts();
        let mut steps = [(0, 0); N];
        // The first code of each length, and its place among the codes.
        let (mut first, mut place) = (0u32, 0u32);
        let mut len = 1;
        while len < shortest + N && len <= PEEK as usize {
            let count = counts[len - 1] as u32;
            if len >= shortest {
                let last = ((first + count) << (PEEK as usize - len)) - 1;
                steps[len - shortest] = (last as u16, place.wrapping_sub(first) as u16);
            }
            place += count;
            first = (first + count) << 1;
            len += 1;
        }
        steps
    }

    /// How many symbols have a code.
    const fn used(&self) -> usize {
        let mut used = 0;
        let mut s = 0;
        while s < SYMBOLS {
            used += (self.lens[s] > 0) as usize;
            s += 1;
        }
        used
    }

    /// How many symbols have a code of 1, 2, … `N` bits.
    const fn counts<const N: usize>(&self) -> [u8; N] {
        let mut counts = [0u8; N];
        let mut s = 0;
        while s < SYMBOLS {
            if self.lens[s] > 0 {
                counts[self.lens[s] as usize - 1] += 1;
            }
            s += 1;
        }
        counts
    }

    /// The `N` symbols that have a code, by length, then by symbol: the
    /// order of their canonical codes.
    const fn order<const N: usize>(&self) -> [u8; N] {
        let (_, order) = self.canonical();
        let mut out = [0u8; N];
        let mut o = 0;
        while o < N {
            out[o] = order[o];
            o += 1;
        }
        out
    }

    /// Each symbol's canonical code: those of one length are consecutive,
    /// in the order of the symbols, and the first of each length is the
    /// one after the last of the length before, doubled.
    const fn codes(&self) -> [u32; SYMBOLS] {
        self.canonical().0
    }

    /// Each symbol's canonical code, and the symbols that have one in the
    /// order of their codes (the rest of that list is 0).
    const fn canonical(&self) -> ([u32; SYMBOLS], [u8; SYMBOLS]) {
        let mut codes = [0u32; SYMBOLS];
        let mut order = [0u8; SYMBOLS];
        let (mut next, mut o) = (0, 0);
        let mut len = 1;
        while len <= MAX_BITS {
            let mut s = 0;
            while s < SYMBOLS {
                if self.lens[s] as usize == len {
                    codes[s] = next;
                    order[o] = s as u8;
                    next += 1;
                    o += 1;
                }
                s += 1;
            }
            next <<= 1;
            len += 1;
        }
        (codes, order)
    }
}

/// The code lengths of a Huffman code for symbols that occur `freq`
/// times (0: no code): the two lightest trees are joined until one is
/// left, and a symbol's length is its depth. A lone symbol takes one bit.
const fn lengths(freq: &[u32; SYMBOLS]) -> [u8; SYMBOLS] {
    const NODES: usize = 2 * SYMBOLS;
    let mut weight = [0u32; NODES];
    let mut parent = [0usize; NODES];
    let mut live = [false; NODES];
    let mut trees = 0;
    let mut s = 0;
    while s < SYMBOLS {
        weight[s] = freq[s];
        live[s] = freq[s] > 0;
        trees += live[s] as usize;
        s += 1;
    }
    let mut lens = [0u8; SYMBOLS];
    if trees == 1 {
        let mut s = 0;
        while s < SYMBOLS {
            lens[s] = live[s] as u8;
            s += 1;
        }
        return lens;
    }
    let mut nodes = SYMBOLS;
    while trees > 1 {
        let a = lightest(&weight, &live, nodes);
        live[a] = false;
        let b = lightest(&weight, &live, nodes);
        live[b] = false;
        weight[nodes] = weight[a] + weight[b];
        live[nodes] = true;
        parent[a] = nodes;
        parent[b] = nodes;
        nodes += 1;
        trees -= 1;
    }
    let root = nodes - 1;
    let mut s = 0;
    while s < SYMBOLS {
        if freq[s] > 0 {
            let mut depth = 0;
            let mut at = s;
            while at != root {
                at = parent[at];
                depth += 1;
            }
            assert!(depth <= MAX_BITS, "packed: a code longer than MAX_BITS");
            lens[s] = depth as u8;
        }
        s += 1;
    }
    lens
}

/// The live node of least weight among the first `nodes` (the first of
/// equal ones).
const fn lightest(weight: &[u32], live: &[bool], nodes: usize) -> usize {
    let mut best = usize::MAX;
    let mut i = 0;
    while i < nodes {
        if live[i] && (best == usize::MAX || weight[i] < weight[best]) {
            best = i;
        }
        i += 1;
    }
    best
}

/// A text's shortest path: at each position, the length of the copy that
/// starts the rest of it (0 for a literal) and its distance.
struct Path {
    step: [u8; LONGEST_TEXT],
    back: [u16; LONGEST_TEXT],
}

impl Path {
    /// The symbol at `i` on the path, and how many bytes of text it
    /// stands for.
    const fn symbol(&self, text: &[u8], i: usize) -> (usize, usize) {
        let len = self.step[i] as usize;
        if len == 0 {
            (text[i] as usize, 1)
        } else {
            (0x80 + len - MIN_COPY, len)
        }
    }
}

/// What `symbol` costs in bits, its distance included, as `price` has it
/// (0: it has no code there). With no code yet, a literal is a byte and a
/// copy two.
const fn cost(price: Option<&Code>, symbol: usize) -> u32 {
    let copy = symbol >= 0x80;
    match price {
        None => 8 + 8 * copy as u32,
        Some(code) if code.lens[symbol] == 0 => 0,
        Some(code) => code.lens[symbol] as u32 + DISTANCE_BITS * copy as u32,
    }
}

/// `text`'s path with the fewest bits as `price` counts them: `bits[i]`
/// is the fewest that pack `text[i..]`, filled from the end, each
/// position either a literal or a copy of any length its longest match
/// allows. Matches are found through hash chains: each position links to
/// the last one before it whose three bytes hash the same.
const fn path(text: &[u8], price: Option<&Code>) -> Path {
    let n = text.len();
    assert!(n <= LONGEST_TEXT, "text longer than packed::LONGEST_TEXT");
    let mut prev = [NONE; LONGEST_TEXT];
    let mut head = [NONE; 1 << HASH_BITS];
    let mut i = 0;
    while i + MIN_COPY <= n {
        let h = hash(text, i);
        prev[i] = head[h];
        head[h] = i as u16;
        i += 1;
    }
    let mut bits = [0u32; LONGEST_TEXT + 1];
    let mut path = Path {
        step: [0; LONGEST_TEXT],
        back: [0; LONGEST_TEXT],
    };
    let mut i = n;
    while i > 0 {
        i -= 1;
        assert!(text[i] < 0x80, "packed! takes ASCII text only");
        let literal = cost(price, text[i] as usize);
        assert!(literal > 0, "packed!: a byte no text of packed::ALL has");
        bits[i] = bits[i + 1] + literal;
        let (len, from) = longest_match(text, &prev, i);
        let mut l = MIN_COPY;
        while l <= len {
            let copy = cost(price, 0x80 + l - MIN_COPY);
            if copy > 0 && bits[i + l] + copy < bits[i] {
                bits[i] = bits[i + l] + copy;
                path.step[i] = l as u8;
                path.back[i] = (i - from) as u16;
            }
            l += 1;
        }
    }
    path
}

/// `text` packed in [`CODE`], in the form the module describes.
pub const fn encode(text: &str) -> Encoded {
    encode_in(text.as_bytes(), Some(&PRICES), &CODE)
}

/// `text` packed in `code`, along the path `price` prices; `code` must
/// have been built from that path.
const fn encode_in(text: &[u8], price: Option<&Code>, code: &Code) -> Encoded {
    let path = path(text, price);
    let codes = code.codes();
    let mut out = [0u8; LONGEST_TEXT];
    let mut at = 0;
    let mut i = 0;
    while i < text.len() {
        let (symbol, len) = path.symbol(text, i);
        let bits = code.lens[symbol] as u32;
        assert!(bits > 0, "packed!: a byte no text of packed::ALL has");
        at = put(&mut out, at, codes[symbol], bits);
        if len > 1 {
            at = put(&mut out, at, path.back[i] as u32 - 1, DISTANCE_BITS);
        }
        i += len;
    }
    (out, at.div_ceil(8))
}

/// Writes the low `n` bits of `value` into `out` from bit `at`, high bit
/// first; returns the bit after them.
const fn put(out: &mut [u8; LONGEST_TEXT], mut at: usize, value: u32, n: u32) -> usize {
    assert!(
        at + n as usize <= LONGEST_TEXT * 8,
        "packed!: packs to more than LONGEST_TEXT bytes"
    );
    let mut k = n;
    while k > 0 {
        k -= 1;
        out[at / 8] |= ((value >> k & 1) as u8) << (7 - at % 8);
        at += 1;
    }
    at
}

/// The bits of the hash chains' hash of three bytes.
const HASH_BITS: u32 = 12;
/// No earlier position (in the hash chains).
const NONE: u16 = u16::MAX;
/// The most earlier positions [`longest_match`] tries: it bounds the
/// compiler's work on a text with very many repeats, at the cost of a
/// bit here and there on such a text.
const MAX_TRIES: usize = 256;

/// The hash of `text[i..i + 3]`, [`HASH_BITS`] bits.
const fn hash(text: &[u8], i: usize) -> usize {
    let key = (text[i] as u32) << 14 | (text[i + 1] as u32) << 7 | text[i + 2] as u32;
    (key.wrapping_mul(2_654_435_761) >> (32 - HASH_BITS)) as usize
}

/// The longest earlier copy of `text[i..]` within [`WINDOW`], at most
/// [`MAX_COPY`] bytes: its length and where it starts (the nearest of
/// equal ones). A match may run into `i` itself, as the unpacker copies
/// byte by byte.
const fn longest_match(text: &[u8], prev: &[u16; LONGEST_TEXT], i: usize) -> (usize, usize) {
    let n = text.len();
    let mut best = 0;
    let mut from = 0;
    let mut j = prev[i];
    let mut tries = 0;
    while j != NONE && i - (j as usize) <= WINDOW && tries < MAX_TRIES {
        let at = j as usize;
        let mut k = 0;
        while k < MAX_COPY && i + k < n && text[at + k] == text[i + k] {
            k += 1;
        }
        if k > best {
            best = k;
            from = at;
            if k == MAX_COPY {
                break;
            }
        }
        j = prev[at];
        tries += 1;
    }
    (best, from)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every integer a message can hold is written as core writes it,
    /// its extremes and zero too.
    #[test]
    fn numbers_are_written_as_core_writes_them() {
        fn both<T: Show + core::fmt::Display + Copy>(n: T) {
            let filled = fill!("n={}.", n);
            assert_eq!(filled.to_string(), format!("n={n}."));
            assert_eq!(format!("{}", Int(n)), n.to_string());
        }
        for n in [0, 1, 9, 10, 99, 100, u64::MAX - 1, u64::MAX] {
            both(n);
        }
        for n in [0, 7, 10, 4_294_967_295u32] {
            both(n);
        }
        for n in [i32::MIN, -1_000_000, -10, -1, 0, 1, 42, i32::MAX] {
            both(n);
            if let Some(nz) = core::num::NonZero::new(n) {
                both(nz);
            }
        }
        for n in [i64::MIN, -1, i64::MAX] {
            both(n);
        }
        for n in [0usize, usize::MAX] {
            both(n);
        }
        both(255u8);
        both(65535u16);
        // A reference to a number, as the log macros take one.
        let n = 12345u32;
        let by_ref: &&u32 = &&n;
        both(by_ref);
        assert_eq!(
            fill!("{} {} {}", "text", 'c', String::from("s")).to_string(),
            "text c s"
        );
    }

    /// Text is written as core's `Display` writes it, in a message and
    /// through [`Str`], whatever holds it.
    #[test]
    fn text_is_written_as_core_writes_it() {
        let boxed: Box<str> = "boxed".into();
        let mut fixed: heapless::String<8> = heapless::String::new();
        fixed.push_str("fixed").unwrap();
        for text in ["", "a", "é ü \t\n{}", "x".repeat(300).as_str()] {
            assert_eq!(fill!("<{}>", text).to_string(), format!("<{text}>"));
            assert_eq!(format!("<{}>", Str(text)), format!("<{text}>"));
            let owned = String::from(text);
            assert_eq!(fill!("<{}>", owned).to_string(), format!("<{text}>"));
        }
        assert_eq!(
            fill!("{} {} {}", boxed, fixed, 'é').to_string(),
            "boxed fixed é"
        );
    }

    /// `append` and `text` make what `write!` and `format!` make, chars
    /// (through the trait's `write_char`) and numbers included.
    #[test]
    fn append_writes_as_write_does() {
        let mut s = String::from("start");
        append(
            &mut s,
            format_args!(" {}{}{} {} {}", 'a', 'é', '€', Int(-42), Str("z")),
        );
        assert_eq!(s, format!("start {}{}{} {} {}", 'a', 'é', '€', -42, "z"));
        append(&mut s, format_args!(""));
        assert!(s.ends_with(" -42 z"));
        assert_eq!(
            text(format_args!("{}:{}", Str("x"), '\u{1F600}')),
            "x:\u{1F600}"
        );
    }

    /// `text` packed in a code of its own, unpacked again: the number of
    /// packed bytes.
    fn roundtrip(text: &str) -> usize {
        let code = Code::build(&[text], None);
        let (all, n) = encode_in(text.as_bytes(), None, &code);
        assert!(code.longest() <= PEEK as usize);
        let shortest = code.shortest();
        let steps: [(u16, u16); MAX_BITS] = code.steps(shortest);
        let order: [u8; SYMBOLS] = code.order();
        let table = Table {
            shortest,
            steps: &steps[..code.longest().max(shortest) - shortest + 1],
            order: &order[..code.used()],
        };
        let mut buf = [0; MAX_TEXT];
        assert_eq!(
            unpack(&all[..n], text.len(), &table, buf.room(), usize::MAX),
            text
        );
        n
    }

    /// `text`'s path as (copy length, distance) pairs, (0, 0) for a
    /// literal.
    fn steps(text: &str) -> Vec<(usize, usize)> {
        let text = text.as_bytes();
        let path = path(text, None);
        let mut steps = Vec::new();
        let mut i = 0;
        while i < text.len() {
            let len = path.step[i] as usize;
            steps.push((len, path.back[i] as usize));
            i += len.max(1);
        }
        steps
    }

    #[test]
    fn empty_and_short_texts_stay_literal() {
        assert_eq!(roundtrip(""), 0);
        assert_eq!(steps("ab"), [(0, 0); 2]);
        // Two symbols of one bit each, then a third: 1, 2 and 2 bits.
        assert_eq!(roundtrip("ab"), 1);
        assert_eq!(roundtrip("abc"), 1);
        assert_eq!(steps("aaa"), [(0, 0); 3]);
    }

    #[test]
    fn repeats_become_copies_even_overlapping_ones() {
        // "ab" then one copy of 30 from 2 back.
        assert_eq!(steps(&"ab".repeat(16)), [(0, 0), (0, 0), (30, 2)]);
        // More than MAX_COPY bytes: several copies.
        assert_eq!(steps(&"x".repeat(100)), [(0, 0), (33, 1), (66, 1)]);
        roundtrip(&"ab".repeat(16));
        roundtrip(&"x".repeat(100));
    }

    #[test]
    fn copies_reach_exactly_the_window() {
        // The only earlier "WXYZ" is 1024 bytes back: one copy, distance
        // 1024 (written as 1023). One byte further and it is out of reach.
        let filler: String = (0..1020u32)
            .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
            .collect();
        let near = format!("WXYZ{filler}WXYZ");
        let far = format!("WXYZ{filler}-WXYZ");
        assert_eq!(steps(&near).last(), Some(&(4, 1024)));
        assert!(steps(&far).ends_with(&[(0, 0); 4]));
        roundtrip(&near);
        roundtrip(&far);
    }

    #[test]
    fn random_ascii_roundtrips() {
        // A little generator, no crate: texts from a small alphabet so
        // that there is much to copy, of every length up to 4096.
        let mut seed = 0x2545_f491_u32;
        for round in 0..40 {
            let len = if round == 0 {
                MAX_TEXT
            } else {
                (seed as usize) % MAX_TEXT
            };
            let text: String = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    char::from(b" ab\ncd%e"[(seed % 8) as usize])
                })
                .collect();
            assert!(roundtrip(&text) <= text.len());
        }
    }

    #[test]
    fn huffman_lengths_follow_the_weights() {
        let mut freq = [0; SYMBOLS];
        freq[b'a' as usize] = 8;
        freq[b'b' as usize] = 4;
        freq[b'c' as usize] = 2;
        freq[b'd' as usize] = 1;
        freq[0x80] = 1;
        let lens = lengths(&freq);
        let got: Vec<u8> = [b'a', b'b', b'c', b'd', 0x80]
            .map(|s| lens[s as usize])
            .to_vec();
        assert_eq!(got, [1, 2, 3, 4, 4]);
        assert_eq!(lens.iter().filter(|&&l| l > 0).count(), 5);
        // A lone symbol still takes a bit.
        let mut one = [0; SYMBOLS];
        one[b'z' as usize] = 7;
        assert_eq!(lengths(&one)[b'z' as usize], 1);
    }

    #[test]
    fn a_symbol_is_found_by_the_largest_window_of_each_length() {
        // Codes 0, 10, 110, 1110 and 1111 for a, b, c, d and a copy.
        let mut code = Code { lens: [0; SYMBOLS] };
        for (s, len) in [(b'a', 1), (b'b', 2), (b'c', 3), (b'd', 4), (0x80, 4)] {
            code.lens[usize::from(s)] = len;
        }
        assert_eq!(code.shortest(), 1);
        let steps: [(u16, u16); 4] = code.steps(1);
        let order: [u8; 5] = code.order();
        assert_eq!(order, [b'a', b'b', b'c', b'd', 0x80]);
        // The largest window of each length, and place - first code.
        assert_eq!(
            steps,
            [
                (0x7fff, 0),
                (0xbfff, 1u16.wrapping_sub(2)),
                (0xdfff, 2u16.wrapping_sub(6)),
                (0xffff, 3u16.wrapping_sub(14))
            ]
        );
        let table = Table {
            shortest: 1,
            steps: &steps,
            order: &order,
        };
        // 0 10 110 1110 1111 0, then 0s past the end: more a's.
        let bytes = [0b0101_1011, 0b1011_1100];
        let mut bits = Bits {
            bytes: &bytes,
            at: 0,
        };
        let read: Vec<usize> = (0..8).map(|_| bits.symbol(&table)).collect();
        assert_eq!(read, [97, 98, 99, 100, 0x80, 97, 97, 97]);
        assert_eq!(bits.at, 1 + 2 + 3 + 4 + 4 + 3);
    }

    #[test]
    fn the_code_of_all_texts_is_complete_and_unpacks_them() {
        // Kraft: the codes fill the code space exactly, so the reader
        // meets no bit pattern that is not a code.
        let longest = CODE.longest();
        let space: u64 = CODE
            .lens
            .iter()
            .filter(|&&l| l > 0)
            .map(|&l| 1 << (longest - l as usize))
            .sum();
        assert_eq!(space, 1 << longest);
        assert_eq!(STEPS.last().unwrap().0, 0xffff);
        let mut packed = 0;
        for text in ALL {
            let (all, n) = encode(text);
            let mut buf = [0; LONGEST_TEXT];
            assert_eq!(
                unpack(&all[..n], text.len(), &TABLE, buf.room(), usize::MAX),
                text
            );
            // Stopped after the first two words: those, whole, and at
            // most the rest of the copy that ended the second.
            let two: Vec<&str> = text.split_terminator('\0').take(2).collect();
            let head = unpack(&all[..n], text.len(), &TABLE, buf.room(), 2);
            assert_eq!(head.split_terminator('\0').take(2).collect::<Vec<_>>(), two);
            let words: usize = two.iter().map(|w| w.len() + 1).sum();
            assert!(head.len() >= words && head.len() < words + MAX_COPY);
            packed += n;
        }
        let unpacked: usize = ALL.iter().map(|t| t.len()).sum();
        assert!(packed * 2 < unpacked, "{packed} of {unpacked}");
    }

    #[test]
    fn the_macro_packs_at_compile_time() {
        let p = packed!(concat!("the ", "theme ", "of the ", "theme"));
        let mut buf = [0; MAX_TEXT];
        assert_eq!(p.unpack(&mut buf), "the theme of the theme");
        assert!(p.bytes.len() < "the theme of the theme".len());
    }

    #[test]
    fn a_message_keeps_its_first_byte_and_marks_its_values() {
        let m: &[u8] = msg!(4, "job {} [{}]: can't run its {} command");
        assert_eq!(m[0], 4);
        assert!(m.len() < "job % [%]: can't run its % command".len());
        assert_eq!(marks("job {} [{}]: can't run its {} command"), 3);
        let mut buf = room();
        assert_eq!(
            unpack_msg(m, &mut buf),
            "job % [%]: can't run its % command"
        );
    }

    #[test]
    fn every_printable_byte_but_the_marks_packs_as_a_message() {
        // Every byte a message may hold, including those no text of ALL
        // has (CODE gives each a code), and a run long enough for copies.
        let m: &[u8] = msg!(
            7,
            " !\"#$&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz|~ {}{}"
        );
        let mut buf = room();
        assert_eq!(
            unpack_msg(m, &mut buf),
            " !\"#$&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz|~ %%"
        );
        // A message with no text but its NUL.
        let empty: &[u8] = msg!(3, "");
        assert_eq!(unpack_msg(empty, &mut buf), "");
        // Not a message (no bits): no panic, and no more than the buffer.
        assert!(unpack_msg(&[], &mut buf).len() < MAX_MSG);
    }
}
