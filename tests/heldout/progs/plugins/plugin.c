/* A dlopen'ed plugin. */
#include <string.h>
struct plugin_req { const char *verb; int level; long cookie; };
static int plugin_hits;
void *plugin_ra;   /* plugin_handle's return address, for the backtrace check */
__attribute__((noinline)) long plugin_handle(struct plugin_req *rq, const char *arg)
{
    plugin_ra = __builtin_return_address(0);
    plugin_hits++;
    return (long)strlen(arg) * 100 + rq->level + plugin_hits;
}
