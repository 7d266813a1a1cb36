/* A shared library for debuginfo tests (build with -shared -fPIC). */
#include <string.h>

struct lib_state { int calls; const char *last; };
static struct lib_state state;

int lib_count(const char *s)
{
    state.calls++;
    state.last = s;
    return (int)strlen(s) + state.calls;
}

static int lib_hidden(int v) { return v * 7; }

int lib_apply(int v, int (*fn)(int))
{
    return fn ? fn(v) : lib_hidden(v);
}
