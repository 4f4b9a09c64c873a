/*
 * Stands in for <setjmp.h> in Lua's ldo.c (the only Lua file that includes
 * it) in the corpus builds of tests/common/corpus.rs, for wasm32 and x86-64
 * alike. wasi-libc has no setjmp.h (setjmp/longjmp on wasm needs the
 * exception-handling proposal), so instead of unwinding, a Lua error ends the
 * program: LUAI_TRY runs its block directly and LUAI_THROW prints the error
 * and aborts. The corpus script raises no errors, so this never triggers.
 */
#ifndef CORPUS_LUA_SETJMP_H
#define CORPUS_LUA_SETJMP_H

#include <stdio.h>
#include <stdlib.h>

#define luai_jmpbuf int /* unused */
#define LUAI_TRY(L, c, a) { a }
#define LUAI_THROW(L, c) \
  (fprintf(stderr, "corpus lua: unrecoverable Lua error (status %d): %s\n", \
           (c)->status, \
           lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?"), \
   fflush(stderr), abort())

#endif
