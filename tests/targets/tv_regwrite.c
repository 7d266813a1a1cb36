/* Guru writes to register-held targets: a parameter at -O2 and $return; prints the result. */
#include <stdio.h>
__attribute__((noipa)) int twice(int x) { return 2 * x; }
int main(void) { int r = twice(10); printf("twice=%d\n", r); return 0; }
