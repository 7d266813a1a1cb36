#include <stdlib.h>
#include <string.h>
#include "inventory.h"

static int items_made;

struct item *make_item(int id, const char *name, enum kind k, int w, int h, long cents)
{
    struct item *it = calloc(1, sizeof *it);
    it->id = id;
    it->name = name;
    it->kind = k;
    it->fragile = id & 1;
    it->shelf = id % 16;
    it->rating = -(id % 9);
    it->dims.w = w;
    it->dims.h = h;
    for (int i = 0; i < 3; i++)
        it->dims.depth[i] = (short)(w + i);
    it->price.cents = cents;
    strcpy(it->price.currency, "EUR");
    it->amount.qty = id * 10;
    items_made++;
    return it;
}

long item_value(const struct item *it, int discount)
{
    long v = it->price.cents * it->amount.qty;
    long cut = v * discount / 100;
    v -= cut;
    return v;
}

extern void *kind_name_ra;
__attribute__((noinline)) const char *kind_name(enum kind k)
{
    kind_name_ra = __builtin_return_address(0);
    switch (k) {
    case K_TOOL: return "tool";
    case K_FOOD: return "food";
    case K_TOY: return "toy";
    }
    return "?";
}
