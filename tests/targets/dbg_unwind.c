/* A call chain that blocks in the kernel: the unwinder must walk c -> b -> a -> main through libc. */
#include <unistd.h>
#include <stdio.h>

volatile int sink;

__attribute__((noinline)) void c(int n) { puts("ready"); fflush(stdout); sleep(n); sink++; }
__attribute__((noinline)) void b(int n) { c(n + 1); sink++; }
__attribute__((noinline)) void a(int n) { b(n + 1); sink++; }

int main(void)
{
    a(20);
    return 0;
}
