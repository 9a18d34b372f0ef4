/* Counts heap allocations of a glibc program, for bench.py's "allocations
 * per restart" figure: LD_PRELOAD=alloccount.so, and at exit the process
 * writes its count to $ALLOCCOUNT_DIR/allocs.PID.
 *
 * Each call that hands out memory counts once (malloc, calloc, realloc,
 * posix_memalign, aligned_alloc, memalign, valloc), as valgrind's "total
 * heap usage" does; the work is done by glibc's own __libc_* functions.
 * Preloading a shim is used rather than valgrind because rustix's vDSO
 * set-up reads the ELF auxiliary vector in a way valgrind does not emulate.
 *
 * Built by bench.py with `cc -O2 -shared -fPIC`; needs nothing but libc. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void __libc_free(void *);

static unsigned long allocs;

static void count(void) { __atomic_add_fetch(&allocs, 1, __ATOMIC_RELAXED); }

void *malloc(size_t n) { count(); return __libc_malloc(n); }
void *calloc(size_t n, size_t m) { count(); return __libc_calloc(n, m); }
void *realloc(void *p, size_t n) { count(); return __libc_realloc(p, n); }
void free(void *p) { __libc_free(p); }
void *memalign(size_t a, size_t n) { count(); return __libc_memalign(a, n); }
void *aligned_alloc(size_t a, size_t n) { count(); return __libc_memalign(a, n); }
void *valloc(size_t n) { count(); return __libc_valloc(n); }

int posix_memalign(void **out, size_t a, size_t n)
{
    if (a < sizeof(void *) || (a & (a - 1)) != 0)
        return EINVAL;
    count();
    void *p = __libc_memalign(a, n);
    if (p == NULL && n != 0)
        return ENOMEM;
    *out = p;
    return 0;
}

/* Runs when the process exits through exit(3) (returning from main too);
 * a forked child that execs or _exits never gets here. */
__attribute__((destructor)) static void report(void)
{
    const char *dir = getenv("ALLOCCOUNT_DIR");
    char path[4096], line[32];
    if (dir == NULL)
        return;
    snprintf(path, sizeof path, "%s/allocs.%d", dir, (int)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    int len = snprintf(line, sizeof line, "%lu\n", allocs);
    if (write(fd, line, (size_t)len) != len)
        unlink(path);
    close(fd);
}
