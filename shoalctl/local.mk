# shoalctl/: the command-line client of shoald's API (jansson; libcurl,
# loaded with dlopen for --url only), a program of its own beside the
# server: it shares no C with shoald, only the contract (api/openapi.yaml).
# Its tests are in tests/ (test_shoalctl).

bin_PROGRAMS += shoalctl/shoalctl
shoalctl_shoalctl_SOURCES = \
	shoalctl/ctl.h \
	shoalctl/main.c \
	shoalctl/opts.c \
	shoalctl/http.c \
	shoalctl/http_internal.h \
	shoalctl/http_unix.c \
	shoalctl/http_remote.c \
	shoalctl/fmt.c \
	shoalctl/deploy.c \
	shoalctl/guest.c \
	shoalctl/host.c \
	shoalctl/latency.c \
	shoalctl/place.c \
	shoalctl/site.c \
	shoalctl/site_plan.c \
	shoalctl/dashboard_proxy.c
# Where site deploy finds the site guest when neither --image nor $$SHOAL_GUESTS says.
shoalctl_shoalctl_CPPFLAGS = $(AM_CPPFLAGS) -DCTL_GUESTDIR='"$(guestdir)"'
shoalctl_shoalctl_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(JANSSON_CFLAGS)
# Not $(CURL_LIBS): the socket needs no TLS stack (http_remote.c loads libcurl).
shoalctl_shoalctl_LDADD = $(JANSSON_LIBS) $(DL_LIBS) -lm

# shoalctl(1), in scdoc, made with the configured paths (DOC_SUBST, doc/local.mk).
nodist_man_MANS += shoalctl/shoalctl.1
EXTRA_DIST += shoalctl/shoalctl.1.scd
CLEANFILES += shoalctl/shoalctl.1
BUILT_SOURCES += shoalctl/shoalctl.1
shoalctl/shoalctl.1: $(srcdir)/shoalctl/shoalctl.1.scd Makefile
	$(AM_V_GEN)$(MKDIR_P) shoalctl && $(DOC_SUBST) $(srcdir)/shoalctl/shoalctl.1.scd | $(SCDOC) > $@.tmp && mv $@.tmp $@
