/* A parameter whose location list ends in DW_OP_entry_value once the call clobbers its register (-O2). */
#include <stdio.h>
__attribute__((noinline)) int helper(int x) { printf("helper %d\n", x); return x * 3; }
__attribute__((noinline)) int work(int a, long b)
{
    int r = helper(a);
    r += helper((int)b);
    printf("work r=%d\n", r);
    return r + 1;
}
int main(void) { return work(5, 7) > 0 ? 0 : 1; }
