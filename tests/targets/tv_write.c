/* Guru-mode writes to target variables: the program prints what it sees after the probe wrote. */
#include <stdio.h>
struct s { int a; unsigned f : 4; };
int g = 5;
__attribute__((noinline)) int use(int x, struct s *p) { int y = x * 2; printf("use x=%d y=%d a=%d f=%u g=%d\n", x, y, p->a, p->f, g); return y; }
int main(void) { struct s v = {1, 2}; use(10, &v); printf("after a=%d f=%u g=%d\n", v.a, v.f, g); return 0; }
