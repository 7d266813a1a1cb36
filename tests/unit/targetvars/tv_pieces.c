/* Struct parameters passed in registers (-O2): DW_OP_piece locations, member offsets pick the piece. */
#include <stdio.h>
struct two { long a, b; };
struct four { int w, x, y, z; };
__attribute__((noinline)) long sum2(struct two t, struct four f) { printf("%ld %ld %d %d\n", t.a, t.b, f.x, f.z); return t.a + t.b + f.y; }
int main(void) { struct two t = {3, 4}; struct four f = {5, 6, 7, 8}; return sum2(t, f) > 0 ? 0 : 1; }
