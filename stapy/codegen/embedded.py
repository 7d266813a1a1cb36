"""Embedded C (`%{ %}` under -g): one C file per program, compiled in pass 4 and linked with the handlers.

Each embedded function F becomes `int32_t stapy_embed_F(ctx, args..., ret)` returning
STATUS_OK / STATUS_ERROR / STATUS_NEXT, wrapping a `void` body written with stap's macros
(stapy_embed.h): STAP_ARG_x, STAP_RETVALUE, STAP_RETURN, STAP_ERROR, STAP_PRINTF, STAP_NEXT,
CONTEXT->last_error, uread/kread.  An embedded expression becomes `stapy_embexpr_N(ctx[, dst])`.
Top-level `%{ %}` blocks come first in the file.  The IR side only declares and calls these.
"""
from __future__ import annotations

import ctypes

from stapy.codegen import abi
from stapy.semantic.program import STRING

_C_TYPES = {ctypes.c_void_p: "void *", ctypes.c_int64: "int64_t", ctypes.c_uint64: "uint64_t",
            ctypes.c_int32: "int32_t", ctypes.c_uint32: "uint32_t"}


def header(maxstringlen: int) -> str:
    fields = []
    for name, ct in abi.CONTEXT_FIELDS:
        ctype = _C_TYPES[ct]
        if name == "errmsg":
            ctype = "char *"
        elif name == "last_error":
            ctype = "const char *"
        fields.append(f"  {ctype} {name};")
    return f"""/* stapy_embed.h: what embedded C in a stap script may use (generated from stapy.codegen.abi) */
#ifndef STAPY_EMBED_H
#define STAPY_EMBED_H
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <errno.h>
#define MAXSTRINGLEN {maxstringlen}
struct stapy_context {{
{chr(10).join(fields)}
}};
typedef int64_t (*stapy_read_fn)(struct stapy_context *, int64_t, void *, int64_t);
static inline size_t stapy_strlcpy(char *d, const char *s, size_t n) {{
  size_t l = strlen(s);
  if (n) {{ size_t k = l < n - 1 ? l : n - 1; memcpy(d, s, k); d[k] = 0; }}
  return l;
}}
#define strlcpy stapy_strlcpy
extern char stapy_out[];
void stp_out_write(void *out, const void *bytes, int64_t n);
static int stapy_embed_next;
static inline void stapy_embed_printf(const char *fmt, ...) {{
  char buf[8192];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n > (int) sizeof buf - 1) n = sizeof buf - 1;
  if (n > 0) stp_out_write(stapy_out, buf, n);
}}
static inline int stapy_uread_bytes(struct stapy_context *c, const void *addr, void *dst, int64_t n) {{
  stapy_read_fn f = (stapy_read_fn) c->read_user;
  return f && f(c, (int64_t)(uintptr_t) addr, dst, n) == n ? 0 : -14;
}}
#define CONTEXT c
#define STAP_RETURN(v) do {{ STAP_RETVALUE_SET(v); return; }} while (0)
#define STAP_ERROR(...) do {{ snprintf(c->errmsg, MAXSTRINGLEN, __VA_ARGS__); c->last_error = c->errmsg; return; }} while (0)
#define STAP_PRINTF(...) stapy_embed_printf(__VA_ARGS__)
#define _stp_printf(...) stapy_embed_printf(__VA_ARGS__)
#define _stp_print(s) stapy_embed_printf("%s", (s))
#define STAP_NEXT do {{ stapy_embed_next = 1; return; }} while (0)
#define uread(ptr) ({{ __typeof__(*(ptr)) __v; \\
  if (stapy_uread_bytes(c, (ptr), &__v, sizeof __v)) {{ \\
    snprintf(c->errmsg, MAXSTRINGLEN, "read fault [man error::fault] at 0x%lx", (unsigned long)(uintptr_t)(ptr)); \\
    c->last_error = c->errmsg; return; }} __v; }})
#define kread(ptr) uread(ptr)
#define user_mode_p() (c->regs != 0)
#endif
"""


def _param_decl(p) -> str:
    return f"const char *STAP_ARG_{p.name}" if p.type == STRING else f"int64_t STAP_ARG_{p.name}"


class EmbeddedC:
    """Collects the C of one program while its IR is lowered."""

    def __init__(self, program, maxstringlen: int):
        self.maxstringlen = maxstringlen
        self.parts: list[str] = [e.code for e in getattr(program, "embeds", [])]
        self.functions: set[str] = set()
        self.exprs = 0

    @property
    def used(self) -> bool:
        return bool(self.functions or self.exprs)

    def function(self, fdef) -> str:
        """The C symbol wrapping an embedded function (emitted once)."""
        sym = f"stapy_embed_{fdef.mangled}"
        if sym in self.functions:
            return sym
        self.functions.add(sym)
        ret_str = fdef.type == STRING
        params = ", ".join(["struct stapy_context *c"] + [_param_decl(p) for p in fdef.params]
                           + ["char *__ret" if ret_str else "int64_t *__ret"])
        setter = "strlcpy(__ret, (v), MAXSTRINGLEN)" if ret_str else "(*__ret = (int64_t)(v))"
        args = ", ".join(["c"] + [f"STAP_ARG_{p.name}" for p in fdef.params] + ["__ret"])
        self.parts.append(f"""
#define STAP_RETVALUE {"__ret" if ret_str else "(*__ret)"}
#define STAP_RETVALUE_SET(v) {setter}
static void {sym}_body({params})
{{
{fdef.embedded_code}
}}
#undef STAP_RETVALUE
#undef STAP_RETVALUE_SET
int32_t {sym}({params})
{{
  const char *saved = c->last_error;
  int32_t status = 0;
  c->last_error = 0;
  stapy_embed_next = 0;
  {sym}_body({args});
  if (c->last_error) {{
    if (c->last_error != c->errmsg) strlcpy(c->errmsg, c->last_error, MAXSTRINGLEN);
    status = {abi.STATUS_ERROR};
  }} else if (stapy_embed_next) {{
    status = {abi.STATUS_NEXT};
  }}
  c->last_error = saved;
  return status;
}}
""")
        return sym

    def expression(self, code: str, is_string: bool) -> str:
        self.exprs += 1
        sym = f"stapy_embexpr_{self.exprs}"
        if is_string:
            self.parts.append(f"""
void {sym}(struct stapy_context *c, char *__dst) {{ strlcpy(__dst, ({code}), MAXSTRINGLEN); }}
""")
        else:
            self.parts.append(f"""
int64_t {sym}(struct stapy_context *c) {{ return (int64_t)({code}); }}
""")
        return sym

    def source(self) -> str:
        return '#include "stapy_embed.h"\n' + "\n".join(self.parts) + "\n"
