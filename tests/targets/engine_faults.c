/* One call per fault class with the bad pointer in %rdi: s_null, s_unmapped, s_prot_none,
   s_cross (a string running from a mapped page into an unmapped one), s_noncanon, s_kernel;
   and s_ok / s_edge (a string ending exactly at the end of a mapped page). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define PROBE(name) __attribute__((noinline)) long name(const char *p) { asm volatile("" ::: "memory"); return (long)(uintptr_t)p; }
PROBE(s_null) PROBE(s_unmapped) PROBE(s_prot_none) PROBE(s_cross) PROBE(s_noncanon) PROBE(s_kernel)
PROBE(s_ok) PROBE(s_edge)

int main(void) {
    char *pages = mmap(0, 5 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(pages + 4096, 4096);                 /* page 1 unmapped */
    mprotect(pages + 2 * 4096, 4096, PROT_NONE); /* page 2 PROT_NONE */
    munmap(pages + 4 * 4096, 4096);             /* page 4 unmapped */
    memset(pages, 'A', 4096);
    char *edge = pages + 4 * 4096 - 4; memcpy(edge, "xyz", 4);  /* "xyz\0" ends at page 3's end */
    s_null(0);
    s_unmapped(pages + 4096 + 100);
    s_prot_none(pages + 2 * 4096 + 8);
    s_cross(pages + 4096 - 16);                 /* 16 'A's then the unmapped page, no NUL */
    s_noncanon((const char *)0x8000000000001000ULL);
    s_kernel((const char *)0xffffffff81000000ULL);
    s_ok("hello");
    s_edge(edge);
    puts("done");
    return 0;
}
