# api/: the HTTP/JSON server that shoald links (libmicrohttpd + jansson),
# its contract, and the web dashboard's files.  The server sees the daemon
# only through daemon/shoald.h.

noinst_LIBRARIES += api/libapi.a
api_libapi_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(MHD_CFLAGS) $(GNUTLS_CFLAGS) $(NETTLE_CFLAGS)
api_libapi_a_SOURCES = \
	api/api.h api/api_internal.h \
	api/server.c api/routes.c api/dashboard_files.c api/auth.c

# The API's contract (tests/integration/test_contract.sh checks the server
# against it, tests/openapi/test_openapi_lint.sh lints it).
EXTRA_DIST += api/openapi.yaml

# The web dashboard shoald serves under /ui/ (ui-dir): plain files, no build step.
uidir = $(pkgdatadir)/ui
dist_ui_DATA = api/dashboard/index.html api/dashboard/app.js api/dashboard/style.css
