-- LuaRocks spec for the Lua 5.4 binding of libchurn (docs/lua.md).
--
-- Needs libchurn installed (meson install). From this folder:
--   luarocks make                                  # libchurn under /usr/local or /usr
--   luarocks make LIBCHURN_DIR=/opt/churn          # include/ and lib/ under one prefix
--   luarocks make LIBCHURN_INCDIR=$(pkg-config --variable=includedir churn) \
--                 LIBCHURN_LIBDIR=$(pkg-config --variable=libdir churn)
-- The module links libchurn only, never liblua (the interpreter provides the Lua API).
rockspec_format = "3.0"
package = "churn"
version = "1.0-1"
source = {
   url = "git+file:///dev/null", -- `luarocks make` builds the checked-out sources in place
   tag = "v1.0.0",
}
description = {
   summary = "Churn scores and customer lifetime value from purchase histories",
   detailed = [[
      require "churn" for Lua 5.4 hosts (OpenResty, Redis, game and telecom servers):
      load model files saved by C, Python or the churn command; score customers from
      Lua tables (BG/NBD, Pareto/NBD, MBG/NBD, BG/BB, sBG, Gamma-Gamma, logistic
      regression, Cox and AFT survival models); fit models from Lua arrays; build
      customer features from a list of purchases.
   ]],
   license = "MIT",
   labels = { "churn", "clv", "btyd", "statistics" },
}
dependencies = {
   "lua >= 5.4, < 5.5",
}
external_dependencies = {
   LIBCHURN = {
      header = "churn.h",
      library = "churn",
   },
}
build = {
   type = "builtin",
   modules = {
      churn = {
         sources = {
            "churn.c", "lchurn_util.c", "lchurn_options.c", "lchurn_data.c",
            "lchurn_txlog.c", "lchurn_customers.c", "lchurn_stream.c", "lchurn_state.c",
            "lchurn_model.c", "lchurn_btyd.c", "lchurn_spend.c", "lchurn_logit.c",
            "lchurn_survival.c", "lchurn_dispatch.c",
         },
         libraries = { "churn" },
         incdirs = { "$(LIBCHURN_INCDIR)" },
         libdirs = { "$(LIBCHURN_LIBDIR)" },
      },
   },
}
