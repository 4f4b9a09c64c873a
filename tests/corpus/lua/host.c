/*
 * Corpus program: a minimal Lua 5.4 host (tests/common/corpus.rs builds it
 * with the Lua sources of the `lua-src` crate, for wasm32-wasi and x86-64).
 * Runs the embedded script.lua, which prints one line per workload, and
 * prints the checksum the script returns. Deterministic by construction.
 */
#include <stdio.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

static const char script[] = {
#embed "script.lua"
    , 0};

/* The libraries the script uses. io, os and package stay out (the build
 * leaves liolib.c, loslib.c and loadlib.c out: they need popen, system,
 * tmpnam and dlopen, which WASI lacks), and so does coroutine: yielding
 * unwinds with LUAI_THROW, which this build turns into abort(). */
static const luaL_Reg libs[] = {
    {LUA_GNAME, luaopen_base},       {LUA_TABLIBNAME, luaopen_table},
    {LUA_STRLIBNAME, luaopen_string}, {LUA_MATHLIBNAME, luaopen_math},
    {LUA_UTF8LIBNAME, luaopen_utf8},
    {NULL, NULL},
};

static void open_libs(lua_State *L) {
  for (const luaL_Reg *lib = libs; lib->func != NULL; lib++) {
    luaL_requiref(L, lib->name, lib->func, 1);
    lua_pop(L, 1);
  }
}

static int run_script(lua_State *L, lua_Integer *checksum) {
  int status = luaL_loadbuffer(L, script, strlen(script), "=script.lua");
  if (status == LUA_OK)
    status = lua_pcall(L, 0, 1, 0);
  if (status != LUA_OK) {
    fprintf(stderr, "lua: %s\n", lua_tostring(L, -1));
    return 0;
  }
  *checksum = lua_tointeger(L, -1);
  lua_pop(L, 1);
  return 1;
}

int main(void) {
  lua_State *L = luaL_newstate();
  if (L == NULL) {
    fputs("lua: cannot create state\n", stderr);
    return 1;
  }
  open_libs(L);
  lua_Integer checksum = 0;
  int ok = run_script(L, &checksum);
  lua_close(L);
  if (!ok)
    return 1;
  printf("checksum=%lld\n", (long long)checksum);
  return 0;
}
