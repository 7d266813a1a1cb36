/* A dlopen'ed plugin. */
#include <string.h>
struct plugin_req { const char *verb; int level; long cookie; };
static int plugin_hits;
long plugin_handle(struct plugin_req *rq, const char *arg)
{
    plugin_hits++;
    return (long)strlen(arg) * 100 + rq->level + plugin_hits;
}
