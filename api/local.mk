# api/: shoalctl, the command-line client of the API (libcurl + jansson).
# The server side of the API is built with shoald in daemon/local.mk.

# The API's contract (tests/integration/test_contract checks it).
EXTRA_DIST += api/openapi.yaml

bin_PROGRAMS += api/shoalctl
api_shoalctl_SOURCES = \
	api/ctl.h \
	api/shoalctl.c \
	api/ctl_opts.c \
	api/ctl_http.c \
	api/ctl_fmt.c \
	api/ctl_deploy.c \
	api/ctl_guest.c \
	api/ctl_host.c \
	api/ctl_latency.c api/ctl_place.c api/ctl_ui.c
api_shoalctl_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)
api_shoalctl_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(JANSSON_CFLAGS)
api_shoalctl_LDADD = $(CURL_LIBS) $(JANSSON_LIBS) -lm

# Unit tests of shoalctl's own checks and formatting (a corpus of values).
check_PROGRAMS += tests/unit/test_ctl
TESTS += tests/unit/test_ctl
tests_unit_test_ctl_SOURCES = tests/unit/test_ctl.c tests/unit/corpus_testlib.h api/ctl.h api/ctl_opts.c api/ctl_fmt.c
tests_unit_test_ctl_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir) $(CMOCKA_CFLAGS)
tests_unit_test_ctl_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_ctl_LDADD = $(JANSSON_LIBS) $(CMOCKA_LIBS) -lm
EXTRA_DIST += tests/data/shoalctl-values.txt

# The web dashboard shoald serves under /ui/ (ui-dir): plain files, no build step.
uidir = $(pkgdatadir)/ui
dist_ui_DATA = api/ui/index.html api/ui/app.js api/ui/style.css
