/* Folded file-scope constants (-O2): DW_AT_const_value (int, double, struct block) or no location at all. */
#include <stdio.h>
struct pt { int x, y; };
static const char *const greeting = "hi";
static const int counter = 42;
static const double ratio = 2.5;
static const struct pt origin = {1, 2};
static long long big = 1LL << 40;
int live = 3;

__attribute__((noinline)) int bump(int x)
{
    printf("bump counter=%d ratio=%a origin.x=%d origin.y=%d big=%lld %s\n", counter, ratio * x / x, origin.x,
           origin.y, big, greeting);
    return x * counter;
}

int main(void) { return bump(live) > 0 ? 0 : 1; }
