/* A target for symbol/backtrace tests: prints its own function addresses (%p) and, from inside
 * cmp() (called by libc's qsort, so the chain crosses libc.so), its own glibc backtrace(). */
#include <execinfo.h>
#include <stdio.h>
#include <stdlib.h>

static int printed;

__attribute__((noinline)) int cmp(const void *a, const void *b)
{
    if (!printed) {
        void *pcs[32];
        int n = backtrace(pcs, 32);
        printed = 1;
        printf("bt");
        for (int i = 0; i < n; i++) printf(" %p", pcs[i]);
        printf("\n");
        fflush(stdout);
        backtrace_symbols_fd(pcs, n, 1);  /* "file(sym+0xoff) [0xaddr]" lines from glibc's dladdr */
    }
    return *(const int *)a - *(const int *)b;
}

__attribute__((noinline)) void sort3(int *v) { qsort(v, 3, sizeof *v, cmp); }
__attribute__((noinline)) int leaf(int x) { return x + 1; }
__attribute__((noinline)) int mid(int x) { return leaf(x) * 2; }
__attribute__((noinline)) int top(int x) { return mid(x) + 3; }

int main(void)
{
    int v[3] = {3, 1, 2};
    printf("cmp=%p sort3=%p leaf=%p mid=%p top=%p\n", (void *)cmp, (void *)sort3, (void *)leaf, (void *)mid,
           (void *)top);
    sort3(v);
    printf("top=%d\n", top(1));
    return 0;
}
