/* .callee / .callees targets: bar() is called from foo(), baz(), main() and an inlined twice();
   each hit of a .callee probe must come from the caller its probe point names. */
#include <stdio.h>

volatile int sink;

__attribute__((noinline)) int bar(int x) { sink += x; return x * 2 + 1; }

__attribute__((noinline)) int baz(int x) { return bar(x) + 3; }

static inline int twice(int x) { return bar(x) + bar(x + 1); }

__attribute__((noinline)) int foo(int n)
{
  int s = 0;
  for (int i = 0; i < n; i++)
    s += bar(i);
  s += baz(n);
  return s;
}

int main(int argc, char **argv)
{
  int t = foo(3);
  t += bar(7);
  t += twice(argc);
  printf("%d\n", t);
  return 0;
}
