/* SPDX-License-Identifier: MIT */
/*
 * luaplug.c - a C module for Lua that tests/real/lua.t loads with
 * require("luaplug"): natively a shared object found through
 * package.cpath, under Myriad a module of the interpreter's closure that
 * Lua's own loadlib.c opens with dlopen() and dlsym().  Its calls into the
 * Lua API cross from one module to another, errors included (longjmp).
 */
#include "lua.h"
#include "lauxlib.h"

int luaopen_luaplug(lua_State *L);

static int plug_add(lua_State *L)
{
	lua_pushinteger(L, luaL_checkinteger(L, 1) + luaL_checkinteger(L, 2));
	return 1;
}

static int plug_greet(lua_State *L)
{
	lua_pushfstring(L, "hello, %s (%d bytes)", luaL_checkstring(L, 1),
			(int)luaL_len(L, 1));
	return 1;
}

static int plug_fail(lua_State *L)
{
	return luaL_error(L, "plug-in error %d", 42);
}

/* Calls back into Lua: f(x) for each x of the list, summed. */
static int plug_map_sum(lua_State *L)
{
	lua_Integer sum = 0;
	luaL_checktype(L, 1, LUA_TFUNCTION);
	luaL_checktype(L, 2, LUA_TTABLE);
	for (lua_Integer i = 1; i <= luaL_len(L, 2); i++) {
		lua_pushvalue(L, 1);
		lua_geti(L, 2, i);
		lua_call(L, 1, 1);
		sum += luaL_checkinteger(L, -1);
		lua_pop(L, 1);
	}
	lua_pushinteger(L, sum);
	return 1;
}

static const luaL_Reg plug_funcs[] = {
	{ "add", plug_add },
	{ "greet", plug_greet },
	{ "fail", plug_fail },
	{ "map_sum", plug_map_sum },
	{ NULL, NULL },
};

int luaopen_luaplug(lua_State *L)
{
	luaL_newlib(L, plug_funcs);
	lua_pushliteral(L, "1.0");
	lua_setfield(L, -2, "version");
	return 1;
}
